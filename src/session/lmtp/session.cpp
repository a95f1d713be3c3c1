#include "session/lmtp/session.hpp"

#include <fmt/format.h>

#include "net/blocking.hpp"
#include "observe/log.hpp"
#include "session/core/component_check.hpp"
#include "session/core/handshake.hpp"
#include "session/lmtp/commands.hpp"

namespace postern::session::lmtp {

net::awaitable<void> run_session(services& svc, std::shared_ptr<net::connection> conn,
                                 const net::listener_spec& listener) {
  auto& live = svc.settings;
  auto read_settings = [&live] { return live.lmtp(); };
  auto settings = co_await net::run_blocking(std::move(read_settings));
  state s{svc, conn, listener, observe::new_session_id(), std::move(settings)};
  conn->set_timeout(s.settings->timeout);
  auto admitted = svc.registry.admit("lmtp", conn->remote_ip(), s.settings->max_connections,
                                     s.settings->max_connections);
  bool secured = co_await core::implicit_tls(s);
  if (!secured) co_return;
  if (auto why = core::out_of_service(s)) {
    auto refusal = fmt::format("421 4.3.2 {} {}", svc.hostname, *why);
    s.reply(refusal);
    s.opened(refusal);
    co_await s.flush();
    co_return;
  }
  if (!admitted) {
    observe::log_limited_coded(fmt::format("lmtp refused {}", conn->remote_ip()),
                               observe::level::warning, "lmtp", s.id, {"4.3.2", conn->remote_ip()},
                               "connection from {} refused: {}", conn->remote_ip(),
                               admitted.err().message);
    auto refusal = fmt::format("421 4.3.2 {} {}", svc.hostname, admitted.err().message);
    s.reply(refusal);
    s.opened(refusal);
    co_await s.flush();
    co_return;
  }
  s.opened();
  s.reply(fmt::format("220 {} Postern LMTP ready", svc.hostname));
  auto& observer = svc.observer ? *svc.observer : core::log_observer();
  co_await core::run_commands(s, protocol(), observer);
}

}  // namespace postern::session::lmtp
