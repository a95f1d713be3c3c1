#include "session/pop3/message_number.hpp"

#include <fmt/format.h>

#include "base/strings.hpp"
#include "proto/pop3/command.hpp"

namespace postern::session::pop3 {

maildrop_entry* find_message(session& s, std::string_view arg) {
  if (arg.empty()) {
    s.err("A message number is required");
    return nullptr;
  }
  auto n = proto::pop3::parse_message_number(arg);
  if (!n) {
    s.err(fmt::format("Invalid message number '{}': expected a number from 1 to {}",
                      base::printable(arg, 20), s.maildrop.size()));
    return nullptr;
  }
  if (*n > s.maildrop.size()) {
    s.err(fmt::format("No such message {}: the maildrop has {} messages", *n, s.maildrop.size()));
    return nullptr;
  }
  auto& m = s.maildrop[*n - 1];
  if (m.deleted) {
    s.err(fmt::format("Message {} is already marked for deletion (RSET undoes that)", *n));
    return nullptr;
  }
  return &m;
}

}  // namespace postern::session::pop3
