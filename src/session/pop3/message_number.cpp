#include "session/pop3/message_number.hpp"

#include <fmt/format.h>

namespace postern::session::pop3 {

maildrop_entry* find_message(session& s, uint32_t number) {
  if (number == 0 || number > s.maildrop.size()) {
    s.err(
        fmt::format("No such message {}: the maildrop has {} messages", number, s.maildrop.size()));
    return nullptr;
  }
  auto& m = s.maildrop[number - 1];
  if (m.deleted) {
    s.err(fmt::format("Message {} is already marked for deletion (RSET undoes that)", number));
    return nullptr;
  }
  return &m;
}

}  // namespace postern::session::pop3
