// IDLE (RFC 2177, RFC 9051 §6.3.13): updates as they happen, until DONE.
// While the session waits for DONE, a watcher beside it wakes on the
// mailbox's notifier (a delivery by LMTP or `postern deliver`, another
// session's change, a POP3 DELE+QUIT) and writes the untagged updates at once.
#include <fmt/format.h>

#include "base/strings.hpp"
#include "net/asio.hpp"
#include "session/imap/commands.hpp"
#include "session/imap/contexts.hpp"
#include "session/imap/sync.hpp"

namespace postern::session::imap {

net::awaitable<void> cmd_idle(session& s, std::string_view) {
  s.out += "+ idling\r\n";
  bool sent = co_await s.flush();
  if (!sent) co_return;
  auto ex = co_await net::asio::this_coro::executor;
  auto wake = std::make_shared<net::asio::steady_timer>(ex);
  auto done = std::make_shared<net::asio::steady_timer>(ex);
  struct shared_state {
    bool stop = false;
    bool finished = false;
  };
  auto st = std::make_shared<shared_state>();
  uint64_t sub = 0;
  store::notifier* notifier = s.mailbox ? &s.mailbox->changes() : nullptr;
  if (notifier)
    sub = notifier->subscribe(
        [wake, ex](uint64_t) { net::asio::post(ex, [wake] { wake->cancel(); }); });

  auto watch = [&s, wake, done, st, notifier]() -> net::awaitable<void> {
    uint64_t seen = notifier ? notifier->version() : 0;
    for (;;) {
      if (st->stop) break;
      sync_selected(s, true);
      co_await update_contexts(s);
      if (!s.out.empty()) {
        std::string batch;
        batch.swap(s.out);
        bool ok = co_await s.conn->write_beside_read(batch);
        if (!ok) break;
      }
      if (st->stop) break;
      // Nothing runs on this thread between this check and the wait, and the
      // notifier only posts its wake-up here, so none is lost.
      if (notifier && notifier->version() != seen) {
        seen = notifier->version();
        continue;
      }
      wake->expires_after(std::chrono::hours(24));
      co_await wake->async_wait(net::use_nothrow);
      if (notifier) seen = notifier->version();
    }
    st->finished = true;
    done->cancel();
  };
  net::asio::co_spawn(ex, std::move(watch), net::asio::detached);

  std::string line;
  // Shutdown may cut this wait short: nothing is half-read.
  s.conn->set_idle(true);
  auto status = co_await s.conn->read_line(line, 1024);
  s.conn->set_idle(false);
  st->stop = true;
  wake->cancel();
  while (!st->finished) {
    done->expires_after(std::chrono::hours(24));
    co_await done->async_wait(net::use_nothrow);
  }
  if (notifier) notifier->unsubscribe(sub);
  if (status == net::read_status::timed_out) {
    s.untagged("BYE [UNAVAILABLE] IDLE timed out (authenticated_timeout); reconnect to go on");
    s.quit = true;
    co_return;
  }
  if (status == net::read_status::interrupted) {
    s.untagged(interrupted_goodbye(s));
    s.quit = true;
    co_return;
  }
  if (status != net::read_status::ok) {
    s.quit = true;
    co_return;
  }
  if (!base::iequals(base::trim(line), "DONE")) {
    s.bad(fmt::format("expected DONE to end IDLE (found {})", base::printable(line)));
    co_return;
  }
  s.ok("IDLE terminated");
}

}  // namespace postern::session::imap
