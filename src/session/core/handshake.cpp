#include "session/core/handshake.hpp"

#include <fmt/format.h>

#include "observe/log.hpp"

namespace postern::session::core {

net::awaitable<bool> implicit_tls(session_base& s) {
  if (s.listener.tls != net::tls_mode::implicit) co_return true;
  bool ok = co_await start_tls(s);
  if (!ok) s.opened("TLS handshake failed: " + s.conn->tls_failure());
  co_return ok;
}

net::awaitable<bool> start_tls(session_base& s) {
  bool ok = co_await s.conn->start_tls();
  if (ok) co_return true;
  observe::log_limited(fmt::format("{} tls {}", s.protocol, s.conn->remote_ip()),
                       observe::level::info, s.protocol, s.id,
                       "TLS handshake failed from {} on port {}: {}", s.conn->remote_ip(),
                       s.conn->local_port(), s.conn->tls_failure());
  s.conn->close();
  s.quit = true;
  co_return false;
}

}  // namespace postern::session::core
