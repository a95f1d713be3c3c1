// The end of every POP3 login path (USER/PASS, AUTH PLAIN, AUTH LOGIN): the
// shared pre-login engine verifies and applies the defence and the per-user
// limit; then the maildrop is opened off the I/O thread.
#pragma once

#include <string>

#include "session/pop3/state.hpp"

namespace postern::session::pop3 {

net::awaitable<void> log_in(session& s, std::string user, std::string password);

}  // namespace postern::session::pop3
