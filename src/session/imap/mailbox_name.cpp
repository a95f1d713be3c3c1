#include "session/imap/mailbox_name.hpp"

#include <fmt/format.h>

#include "base/strings.hpp"
#include "proto/imap/mutf7.hpp"

namespace postern::session::imap {

std::variant<std::string, name_refusal> read_mailbox(const session& s, proto::imap::cursor& c,
                                                     bool creating) {
  auto raw = c.read_astring("a mailbox name");
  if (!raw) return name_refusal{true, raw.error().words};
  std::string name;
  if (s.utf8_accept) {
    name = std::move(*raw);
  } else {
    for (unsigned char ch : *raw)
      if (ch >= 0x80)
        return name_refusal{false,
                            "[CANNOT] Mailbox names must be modified UTF-7 (RFC 3501 §5.1.3) "
                            "unless UTF8=ACCEPT is enabled"};
    auto decoded = proto::imap::decode_mutf7(*raw);
    if (!decoded) return name_refusal{false, "[CANNOT] " + decoded.error().words};
    name = std::move(*decoded);
  }
  if (name.empty()) return name_refusal{false, "[CANNOT] The mailbox name is empty"};
  if (name.size() > max_mailbox_name)
    return name_refusal{false, fmt::format("[CANNOT] Mailbox names are at most {} bytes; this "
                                           "one has {}",
                                           max_mailbox_name, name.size())};
  size_t depth = 1;
  for (unsigned char ch : name) {
    if (ch < 0x20 || ch == 0x7f)
      return name_refusal{false, "[CANNOT] Mailbox names cannot hold control characters"};
    if (ch == '/') ++depth;
    if (creating && (ch == '*' || ch == '%'))
      return name_refusal{false, "[CANNOT] Mailbox names cannot hold the wildcards * and %"};
  }
  if (depth > max_mailbox_depth)
    return name_refusal{
        false, fmt::format("[CANNOT] Mailboxes nest at most {} levels deep", max_mailbox_depth)};
  // RFC 9051 §5.1: INBOX is case-insensitive, and so is it as a parent.
  if (base::iequals(name.substr(0, 5), "INBOX") && (name.size() == 5 || name[5] == '/'))
    name.replace(0, 5, "INBOX");
  if (creating) {
    if (name.front() == '/' || name.find("//") != std::string::npos)
      return name_refusal{false, "[CANNOT] Mailbox names cannot have an empty level"};
    while (!name.empty() && name.back() == '/') name.pop_back();  // RFC 9051 §6.3.4
  }
  return name;
}

void refuse(session& s, const name_refusal& r) { r.syntax ? s.bad(r.words) : s.no(r.words); }

std::vector<std::string> parents_of(std::string_view name) {
  std::vector<std::string> out;
  for (size_t i = name.find('/'); i != std::string_view::npos; i = name.find('/', i + 1))
    if (i > 0) out.emplace_back(name.substr(0, i));
  return out;
}

}  // namespace postern::session::imap
