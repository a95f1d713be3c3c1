#include "session/imap/login.hpp"

#include <fmt/format.h>

#include "net/blocking.hpp"
#include "observe/log.hpp"
#include "session/core/login.hpp"
#include "session/imap/commands.hpp"

namespace postern::session::imap {

namespace {
core::login_limits limits_of(const directory::imap_settings& p) {
  core::login_limits l;
  l.max_connections_per_user = p.max_connections_per_user;
  l.budget = &p.budget;
  l.defence.first_delay = p.login_failure_delay;
  l.defence.max_delay = p.login_failure_delay_max;
  l.defence.block_threshold = p.login_block_threshold;
  l.defence.window = p.login_block_window;
  return l;
}
}  // namespace

net::awaitable<void> log_in(session& s, std::string user, std::string password) {
  auto limits = limits_of(*s.settings);
  auto outcome = co_await core::log_in(s, user, std::move(password), limits);
  switch (outcome.what) {
    case core::login_outcome::kind::ok:
      break;
    case core::login_outcome::kind::failed:
      s.no(fmt::format("[{}] Authentication failed: unknown user name or wrong password",
                       core::refusal_code("imap", outcome.what)));
      co_return;
    case core::login_outcome::kind::blocked:
      s.no(fmt::format("[{}] {}", core::refusal_code("imap", outcome.what), outcome.message));
      co_return;
    case core::login_outcome::kind::user_limit:
      s.no(fmt::format("[{}] {}", core::refusal_code("imap", outcome.what), outcome.message));
      co_return;
    case core::login_outcome::kind::disabled:
      // RFC 5530 §3: the user has to ask the administrator.
      s.no(fmt::format("[{}] {}", core::refusal_code("imap", outcome.what), outcome.message));
      co_return;
    case core::login_outcome::kind::throttled:
      // RFC 2449 §8.1.1 (LOGIN-DELAY), RFC 5530 §3 (LIMIT): try again later.
      s.no(fmt::format("[{}] {}", core::refusal_code("imap", outcome.what), outcome.message));
      co_return;
    case core::login_outcome::kind::unavailable:
      s.no(error_reply(s, outcome.error));
      co_return;
  }
  auto& mail = s.svc.mail;
  auto user_id = outcome.user.id;
  auto open = [&mail, user_id] { return mail.open(user_id); };
  auto mb = co_await net::run_blocking(std::move(open));
  if (!mb) {
    observe::log(observe::level::error, "imap", s.id, "cannot open mailbox of {}: {} ({})",
                 outcome.user.address, mb.err().message, mb.err().detail);
    s.no(error_reply(s, mb.err()));
    co_return;
  }
  s.user = outcome.user.address;
  s.logged_in();
  s.user_id = user_id;
  s.user_lease = std::move(outcome.lease);
  s.budget = std::move(outcome.budget);
  s.budget_knobs = &s.settings->budget;
  s.mailbox = std::move(*mb);
  s.state = phase::authenticated;
  s.conn->clear_phase_deadline();
  s.conn->set_timeout(s.settings->authenticated_timeout);
  observe::log(observe::level::info, "imap", s.id, "login {} from {}", s.user, s.conn->remote_ip());
  // RFC 9051 §6.2.3: the capabilities change after login; say them now.
  s.ok(fmt::format("[CAPABILITY {}] Logged in as {}", capability_list(s), s.user));
}

void log_out(session& s) {
  s.selected.reset();
  s.mailbox.reset();
  s.user_lease = {};
  s.budget.reset();
  s.user.clear();
  s.user_id = 0;
  s.rev2 = s.utf8_accept = s.condstore = s.qresync = false;
  s.state = phase::not_authenticated;
  s.conn->set_timeout(s.settings->preauthenticated_timeout);
}

}  // namespace postern::session::imap
