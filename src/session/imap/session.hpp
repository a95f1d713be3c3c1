// An IMAP4rev2 / IMAP4rev1 session (RFC 9051, RFC 3501) on one connection.
#pragma once

#include <memory>

#include "net/server.hpp"
#include "session/services.hpp"

namespace postern::session::imap {

net::awaitable<void> run_session(services& svc, std::shared_ptr<net::connection> conn,
                                 const net::listener_spec& listener);

}  // namespace postern::session::imap
