// LMTP's one mapping of domain errors to replies (RFC 3463 enhanced codes).
#include <fmt/format.h>

#include "session/core/error_words.hpp"
#include "session/lmtp/state.hpp"
#include "session/smtp/reply_codes.hpp"

namespace postern::session::lmtp {

std::string error_reply(const state& s, std::string_view recipient, const base::error& e) {
  return fmt::format("{} <{}> {} (session {})", smtp::reply_code_of(e.code), recipient,
                     core::client_words(e), s.id);
}

}  // namespace postern::session::lmtp
