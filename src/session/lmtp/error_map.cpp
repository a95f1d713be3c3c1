// LMTP's one mapping of domain errors to replies (RFC 3463 enhanced codes).
#include <fmt/format.h>

#include "session/core/error_words.hpp"
#include "session/lmtp/state.hpp"

namespace postern::session::lmtp {

namespace {
const char* code_of(base::errc e) {
  switch (e) {
    case base::errc::not_found:
      return "550 5.1.1";  // the mailbox does not exist (any more)
    case base::errc::disk_full:
      return "452 4.3.1";  // mail system full
    case base::errc::over_quota:
      return "552 5.2.2";  // mailbox full
    case base::errc::too_big:
      return "552 5.3.4";
    case base::errc::limit_exceeded:
      return "452 4.2.2";  // e.g. every UID used: the mailbox cannot take more now
    case base::errc::no_permission:
      return "550 5.7.1";
    case base::errc::corrupt:
      return "451 4.3.0";
    case base::errc::in_use:
    case base::errc::temporary:
      return "451 4.2.0";
    default:
      return "451 4.3.0";
  }
}
}  // namespace

std::string error_reply(const state& s, std::string_view recipient, const base::error& e) {
  return fmt::format("{} <{}> {} (session {})", code_of(e.code), recipient, core::client_words(e),
                     s.id);
}

}  // namespace postern::session::lmtp
