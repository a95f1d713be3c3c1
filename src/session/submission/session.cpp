#include "session/submission/session.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "net/blocking.hpp"
#include "observe/log.hpp"
#include "session/core/component_check.hpp"
#include "session/core/handshake.hpp"
#include "session/submission/commands.hpp"

namespace postern::session::submission {

net::awaitable<void> run_session(services& svc, std::shared_ptr<net::connection> conn,
                                 const net::listener_spec& listener) {
  auto& live = svc.settings;
  auto read_settings = [&live] { return live.submission(); };
  auto settings = co_await net::run_blocking(std::move(read_settings));
  state s{svc, conn, listener, observe::new_session_id(), std::move(settings)};
  auto admitted = svc.registry.admit("submission", conn->remote_ip(), s.settings->max_connections,
                                     s.settings->max_connections_from_single_ip);
  conn->set_timeout(s.settings->preauthenticated_timeout);
  conn->set_phase_deadline(net::connection::clock::now() + s.settings->preauthenticated_timeout);
  if (!admitted)
    conn->set_timeout(std::min<net::connection::clock::duration>(
        s.settings->preauthenticated_timeout, std::chrono::seconds(5)));
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
    observe::log_limited(fmt::format("submission refused {}", conn->remote_ip()),
                         observe::level::warning, "submission", s.id,
                         "connection from {} refused: {}", conn->remote_ip(),
                         admitted.err().message);
    auto refusal = fmt::format("421 4.7.0 {} {}", svc.hostname, admitted.err().message);
    s.reply(refusal);
    s.opened(refusal);
    co_await s.flush();
    co_return;
  }
  s.opened();
  s.reply(fmt::format("220 {} {}", svc.hostname, s.settings->banner));
  auto& observer = svc.observer ? *svc.observer : core::log_observer();
  co_await core::run_commands(s, protocol(), observer);
}

}  // namespace postern::session::submission
