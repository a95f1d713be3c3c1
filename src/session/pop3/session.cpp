#include "session/pop3/session.hpp"

#include <fmt/format.h>

#include "net/blocking.hpp"
#include "observe/log.hpp"
#include "session/core/component_check.hpp"
#include "session/core/handshake.hpp"
#include "session/pop3/commands.hpp"
#include "session/pop3/state.hpp"

namespace postern::session::pop3 {

net::awaitable<void> run_session(services& svc, std::shared_ptr<net::connection> conn,
                                 const net::listener_spec& listener) {
  // The settings are a directory read: off the I/O thread.
  auto& live = svc.settings;
  auto read_settings = [&live] { return live.pop3(); };
  auto settings = co_await net::run_blocking(std::move(read_settings));
  session s{svc, conn, listener, observe::new_session_id(), std::move(settings)};

  // The connection counts from accept, before any TLS (max_connections).
  auto admitted = svc.registry.admit("pop3", conn->remote_ip(), s.settings->max_connections,
                                     s.settings->max_connections_from_single_ip);
  // The whole pre-login phase, TLS handshake included, is bounded from accept.
  conn->set_timeout(s.settings->preauthenticated_timeout);
  conn->set_phase_deadline(net::connection::clock::now() + s.settings->preauthenticated_timeout);
  // A refused client only gets a short while to take its refusal over TLS.
  if (!admitted)
    conn->set_timeout(std::min<net::connection::clock::duration>(
        s.settings->preauthenticated_timeout, std::chrono::seconds(5)));
  bool secured = co_await core::implicit_tls(s);
  if (!secured) co_return;
  if (auto why = core::out_of_service(s)) {
    auto refusal = fmt::format("[SYS/TEMP] {}", *why);
    s.err(refusal);
    s.opened("-ERR " + refusal);
    co_await s.flush();
    co_return;
  }
  if (!admitted) {
    observe::log_limited_coded(fmt::format("pop3 refused {}", conn->remote_ip()),
                               observe::level::warning, "pop3", s.id,
                               {"SYS/TEMP", conn->remote_ip()}, "connection from {} refused: {}",
                               conn->remote_ip(), admitted.err().message);
    auto refusal = fmt::format("[SYS/TEMP] {}", admitted.err().message);
    s.err(refusal);
    s.opened("-ERR " + refusal);
    co_await s.flush();
    co_return;
  }
  s.opened();
  s.ok(s.settings->banner);
  auto& observer = svc.observer ? *svc.observer : core::log_observer();
  co_await core::run_commands(s, protocol(), observer);
}

}  // namespace postern::session::pop3
