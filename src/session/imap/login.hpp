// Login and logout of an IMAP session: the shared pre-login engine
// (session/core/login.hpp) with IMAP's response codes (RFC 5530).
#pragma once

#include <string>

#include "session/imap/state.hpp"

namespace postern::session::imap {

net::awaitable<void> log_in(session& s, std::string user, std::string password);
// Back to the not-authenticated state (UNAUTHENTICATE, RFC 8437).
void log_out(session& s);

}  // namespace postern::session::imap
