#include "session/pop3/login.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "base/strings.hpp"
#include "directory/authenticate.hpp"
#include "net/blocking.hpp"
#include "observe/log.hpp"

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

}  // namespace

net::awaitable<void> log_in(session& s, std::string user, std::string password) {
  auto address = base::normalize_address(user);
  auto& dir = s.svc.dir;
  auto& cache = s.svc.credentials;
  auto verify = [&dir, &cache, address, password = std::move(password)] {
    return directory::authenticate(dir, cache, address, password);
  };
  auto verified = co_await net::run_blocking(std::move(verify));
  if (!verified) {
    auto& e = verified.err();
    if (e.code == base::errc::not_found || e.code == base::errc::invalid_argument) {
      observe::log(observe::level::info, "pop3", s.id, "login failed for {} from {}: {}",
                   base::printable(address, 80), s.conn->remote_ip(), e.message);
      // A short pause makes password guessing slow without holding a thread.
      net::asio::steady_timer t(co_await net::asio::this_coro::executor,
                                std::chrono::milliseconds(500));
      co_await t.async_wait(net::use_nothrow);
      s.err("[AUTH] Authentication failed: unknown user name or wrong password");
    } else {
      observe::log(observe::level::error, "pop3", s.id, "directory error during login: {}",
                   e.message);
      s.err(error_reply(s, e));
    }
    co_return;
  }

  auto lease =
      s.svc.registry.admit_user("pop3", verified->address, s.settings->max_connections_per_user);
  if (!lease) {
    observe::log(observe::level::warning, "pop3", s.id, "login refused: {}", lease.err().message);
    s.err(fmt::format("[IN-USE] {}", lease.err().message));
    co_return;
  }

  auto& mail = s.svc.mail;
  auto user_id = verified->id;
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
                 verified->address, drop.err().message, drop.err().detail);
    s.err(error_reply(s, drop.err()));
    co_return;
  }

  s.user = verified->address;
  s.user_lease = std::move(*lease);
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
  s.conn->set_timeout(s.settings->authenticated_timeout);
  observe::log(observe::level::info, "pop3", s.id, "login {} from {} ({} messages)", s.user,
               s.conn->remote_ip(), s.maildrop.size());
  s.ok(fmt::format("Logged in: {} has {} messages ({} octets)", s.user, s.maildrop.size(),
                   total_size(s.maildrop)));
}

}  // namespace postern::session::pop3
