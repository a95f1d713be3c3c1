// POP3's one mapping of domain errors to response codes (RFC 2449 §8,
// RFC 3206): SYS/TEMP when retrying may help, SYS/PERM when it will not,
// IN-USE for limits and locks, AUTH for login refusals.
#include <fmt/format.h>

#include "session/core/error_words.hpp"
#include "session/pop3/state.hpp"

namespace postern::session::pop3 {

namespace {
const char* code_of(base::errc e) {
  switch (e) {
    case base::errc::temporary:
    case base::errc::io_error:
    case base::errc::disk_full:
    case base::errc::unavailable:
      return "[SYS/TEMP]";
    case base::errc::limit_exceeded:
    case base::errc::in_use:
      return "[IN-USE]";
    case base::errc::authentication_failed:
    case base::errc::authorization_failed:
    case base::errc::privacy_required:
      return "[AUTH]";
    default:
      return "[SYS/PERM]";
  }
}
}  // namespace

std::string error_reply(const session& s, const base::error& e) {
  return fmt::format("{} {} (session {})", code_of(e.code), core::client_words(e), s.id);
}

}  // namespace postern::session::pop3
