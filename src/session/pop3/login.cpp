#include "session/pop3/login.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "net/blocking.hpp"
#include "observe/log.hpp"
#include "session/core/login.hpp"

namespace postern::session::pop3 {

namespace {

struct opened {
  std::shared_ptr<store::mailbox> mailbox;
  uint32_t uidvalidity = 0;
  std::vector<store::message_meta> messages;
};

uint64_t total_size(const std::vector<maildrop_entry>& drop) {
  uint64_t n = 0;
  for (auto& m : drop) n += m.size;
  return n;
}

core::login_limits limits_of(const directory::pop3_settings& p) {
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
      s.err(fmt::format("[{}] Authentication failed: unknown user name or wrong password",
                        core::refusal_code("pop3", outcome.what)));
      co_return;
    case core::login_outcome::kind::blocked:
      s.err(fmt::format("[{}] {}", core::refusal_code("pop3", outcome.what), outcome.message));
      co_return;
    case core::login_outcome::kind::user_limit:
      s.err(fmt::format("[{}] {}", core::refusal_code("pop3", outcome.what), outcome.message));
      co_return;
    case core::login_outcome::kind::disabled:
      // RFC 3206 §4: a refusal that trying again will not fix.
      s.err(fmt::format("[{}] {}", core::refusal_code("pop3", outcome.what), outcome.message));
      co_return;
    case core::login_outcome::kind::throttled:
      // RFC 2449 §8.1.1 (LOGIN-DELAY), RFC 5530 §3 (LIMIT): try again later.
      s.err(fmt::format("[{}] {}", core::refusal_code("pop3", outcome.what), outcome.message));
      co_return;
    case core::login_outcome::kind::unavailable:
      s.err(error_reply(s, outcome.error));
      co_return;
  }

  auto& mail = s.svc.mail;
  auto user_id = outcome.user.id;
  auto open_maildrop = [&mail, user_id]() -> base::result<opened> {
    auto mb = mail.open(user_id);
    if (!mb) return mb.err();
    auto f = (*mb)->folder("INBOX");
    if (!f) return f.err();
    auto list = (*mb)->list("INBOX");
    if (!list) return list.err();
    return opened{*mb, f->uidvalidity, std::move(*list)};
  };
  auto drop = co_await net::run_blocking(std::move(open_maildrop));
  if (!drop) {
    observe::log(observe::level::error, "pop3", s.id, "cannot open mailbox of {}: {} ({})",
                 outcome.user.address, drop.err().message, drop.err().detail);
    s.err(error_reply(s, drop.err()));
    co_return;
  }

  s.user = outcome.user.address;
  s.logged_in();
  s.user_lease = std::move(outcome.lease);
  s.budget = std::move(outcome.budget);
  s.budget_knobs = &s.settings->budget;
  s.mailbox = drop->mailbox;
  s.uidvalidity = drop->uidvalidity;
  s.maildrop.clear();
  s.maildrop.reserve(drop->messages.size());
  for (auto& m : drop->messages)
    s.maildrop.push_back(
        maildrop_entry{m.size, m.blob_id, m.header_size, m.uid, m.dot_lines, false});
  if (s.settings->message_sort_order == directory::sort_order::descending)
    std::reverse(s.maildrop.begin(), s.maildrop.end());
  s.state = phase::transaction;
  s.conn->clear_phase_deadline();
  s.conn->set_timeout(s.settings->authenticated_timeout);
  observe::log(observe::level::info, "pop3", s.id, "login {} from {} ({} messages)", s.user,
               s.conn->remote_ip(), s.maildrop.size());
  s.ok(fmt::format("Logged in: {} has {} messages ({} octets)", s.user, s.maildrop.size(),
                   total_size(s.maildrop)));
}

}  // namespace postern::session::pop3
