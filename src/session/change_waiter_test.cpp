#include "session/change_waiter.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace postern::session {

namespace asio = net::asio;
using namespace std::chrono_literals;

TEST(ChangeWaiter, WakesWhenAnotherThreadChangesTheMailbox) {
  asio::io_context io(1);
  store::notifier changes;
  uint64_t woke_with = 0;
  auto started = std::chrono::steady_clock::now();
  asio::co_spawn(
      io, [&]() -> net::awaitable<void> { woke_with = co_await wait_for_change(changes, 0, 30s); },
      asio::detached);
  // A delivery committed on another thread, before or during the wait:
  // either way the waiter must see it without waiting for the timeout.
  std::thread deliverer([&] { changes.notify(); });
  io.run();
  deliverer.join();
  EXPECT_EQ(woke_with, 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s)
      << "woke by the change, not the timeout";
}

TEST(ChangeWaiter, ReturnsAtOnceWhenAlreadyChangedAndTimesOutOtherwise) {
  asio::io_context io(1);
  store::notifier changes;
  changes.notify();
  uint64_t now_version = 0, after_timeout = 0;
  asio::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        now_version = co_await wait_for_change(changes, 0, 30s);
        after_timeout = co_await wait_for_change(changes, changes.version(), 20ms);
      },
      asio::detached);
  io.run();
  EXPECT_EQ(now_version, 1u);
  EXPECT_EQ(after_timeout, 1u);
}

}  // namespace postern::session
