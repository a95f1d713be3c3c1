// The end of every POP3 login path (USER/PASS, AUTH PLAIN, AUTH LOGIN):
// verify, apply the per-user limit, open the maildrop.
#pragma once

#include <string>

#include "session/pop3/state.hpp"

namespace postern::session::pop3 {

net::awaitable<void> log_in(session& s, std::string user, std::string password);

}  // namespace postern::session::pop3
