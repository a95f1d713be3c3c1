// The POP3 session (RFC 1939, 2449, 2595, 3206, 5034, 6856): one coroutine
// per connection.
#pragma once

#include <memory>

#include "net/server.hpp"
#include "session/services.hpp"

namespace postern::session::pop3 {

net::awaitable<void> run_session(services& svc, std::shared_ptr<net::connection> conn,
                                 const net::listener_spec& listener);

}  // namespace postern::session::pop3
