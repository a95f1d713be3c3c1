// The pools behind run_blocking/run_reading/run_cpu: every worker takes
// work at once (a pool that ran queued tasks one at a time would hold a
// session's command behind another's fsync), results and exceptions come
// back to the coroutine on its own thread, and an io_context with nothing
// left to do still returns from run().
#include "net/blocking.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace postern::net {

namespace {

using namespace std::chrono_literals;

// Counts arrivals; wait_for(n) says whether n arrived before the deadline.
struct arrivals {
  std::mutex mu;
  std::condition_variable cv;
  int n = 0;
  void arrive() {
    std::lock_guard lock(mu);
    ++n;
    cv.notify_all();
  }
  bool wait_for(int want, std::chrono::milliseconds limit) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, limit, [&] { return n >= want; });
  }
};

}  // namespace

TEST(WorkPool, EveryWorkerTakesQueuedWorkAtOnce) {
  constexpr int workers = 4;
  work_pool pool("test-pool", workers);
  arrivals started;
  std::atomic<bool> release{false};
  // Each task waits for all the others to start: only a pool that runs
  // them side by side lets them finish.
  for (int i = 0; i < workers; ++i)
    pool.post([&] {
      started.arrive();
      while (!release) std::this_thread::sleep_for(1ms);
    });
  bool all = started.wait_for(workers, 10s);
  release = true;
  EXPECT_TRUE(all) << "only " << started.n << " of " << workers << " tasks ran at once";
}

TEST(WorkPool, RunsEveryTaskPostedFromManyThreads) {
  arrivals done;
  {
    work_pool pool("test-pool", 3);
    std::vector<std::thread> posters;
    for (int t = 0; t < 4; ++t)
      posters.emplace_back([&] {
        for (int i = 0; i < 2500; ++i) pool.post([&] { done.arrive(); });
      });
    for (auto& p : posters) p.join();
    EXPECT_TRUE(done.wait_for(10000, 20s)) << done.n << " of 10000 tasks ran";
  }
}

TEST(RunBlocking, ResultsAndExceptionsComeBackOnTheSessionsThread) {
  asio::io_context io(1);
  std::thread::id session_thread;
  int sum = 0;
  std::string failure;
  bool finished = false;
  auto session = [&]() -> awaitable<void> {
    session_thread = std::this_thread::get_id();
    for (int i = 1; i <= 100; ++i) {
      auto work = [i] { return i; };
      sum += co_await run_blocking(std::move(work));
      EXPECT_EQ(std::this_thread::get_id(), session_thread);
    }
    auto read = [] { return std::string("read"); };
    auto got = co_await run_reading(std::move(read));
    EXPECT_EQ(got, "read");
    try {
      auto fail = []() -> int { throw std::runtime_error("disk on fire"); };
      co_await run_blocking(std::move(fail));
    } catch (const std::exception& e) {
      failure = e.what();
    }
    EXPECT_EQ(std::this_thread::get_id(), session_thread);
    finished = true;
  };
  asio::co_spawn(io, session(), asio::detached);
  // run() returns: no watcher is left armed once the work has come back.
  io.run();
  EXPECT_TRUE(finished);
  EXPECT_EQ(sum, 5050);
  EXPECT_EQ(failure, "disk on fire");
}

TEST(RunBlocking, ManySessionsOnTwoIoThreadsAllResume) {
  asio::io_context a(1), b(1);
  std::atomic<int> resumed{0};
  auto session = [&](int id) -> awaitable<void> {
    for (int i = 0; i < 50; ++i) {
      auto work = [id, i] {
        if ((id + i) % 7 == 0) std::this_thread::sleep_for(100us);
        return id + i;
      };
      auto r = co_await run_blocking(std::move(work));
      EXPECT_EQ(r, id + i);
      ++resumed;
    }
  };
  for (int s = 0; s < 40; ++s) asio::co_spawn(s % 2 ? a : b, session(s), asio::detached);
  std::thread other([&] { a.run(); });
  b.run();
  other.join();
  EXPECT_EQ(resumed.load(), 40 * 50);
}

}  // namespace postern::net
