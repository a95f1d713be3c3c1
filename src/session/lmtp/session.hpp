// The LMTP session (RFC 2033): delivery from an MTA into the store, with one
// reply per recipient after DATA, each sent only once the message is durable.
#pragma once

#include <memory>

#include "net/server.hpp"
#include "session/services.hpp"

namespace postern::session::lmtp {

net::awaitable<void> run_session(services& svc, std::shared_ptr<net::connection> conn,
                                 const net::listener_spec& listener);

}  // namespace postern::session::lmtp
