#include "session/change_waiter.hpp"

#include <memory>

namespace postern::session {

net::awaitable<uint64_t> wait_for_change(store::notifier& changes, uint64_t seen,
                                         std::chrono::steady_clock::duration timeout) {
  auto ex = co_await net::asio::this_coro::executor;
  auto timer = std::make_shared<net::asio::steady_timer>(ex, timeout);
  // The callback runs on the notifying thread: it only posts to our executor.
  // Posting (rather than cancelling directly) also means the cancel cannot run
  // before the wait below has started, as nothing else runs on this thread
  // between the version check and async_wait.
  auto id = changes.subscribe(
      [timer, ex](uint64_t) { net::asio::post(ex, [timer] { timer->cancel(); }); });
  if (changes.version() == seen) {
    co_await timer->async_wait(net::use_nothrow);
  }
  changes.unsubscribe(id);
  co_return changes.version();
}

}  // namespace postern::session
