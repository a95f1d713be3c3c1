// TLS at the start of a session (implicit TLS, RFC 8314) and after
// STLS/STARTTLS, for every protocol: bounded by the session's deadlines and
// logged, rate-limited, with the client's address and OpenSSL's reason.
#pragma once

#include "session/core/session_base.hpp"

namespace postern::session::core {

// On an implicit-TLS listener, handshakes now; true when the session may go
// on (always on other listeners).
net::awaitable<bool> implicit_tls(session_base& s);

// After the protocol's "go ahead" reply was flushed: handshakes, and on
// failure logs it and closes the connection.
net::awaitable<bool> start_tls(session_base& s);

}  // namespace postern::session::core
