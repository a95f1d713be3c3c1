// The SMTP submission session (RFC 6409): authenticated clients send mail,
// checked against what addresses they may send as, delivered into the store
// for local recipients.
#pragma once

#include <memory>

#include "net/server.hpp"
#include "session/services.hpp"

namespace postern::session::submission {

net::awaitable<void> run_session(services& svc, std::shared_ptr<net::connection> conn,
                                 const net::listener_spec& listener);

}  // namespace postern::session::submission
