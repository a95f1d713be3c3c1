#include "base/clock.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace postern::base {

using namespace std::chrono_literals;

TEST(Clock, ManualClockMovesOnlyWhenTold) {
  manual_clock c;
  auto wall = c.now();
  auto steady = c.steady_now();
  EXPECT_EQ(c.now(), wall);
  c.advance(1500ms);
  EXPECT_EQ(c.now() - wall, 1500ms);
  EXPECT_EQ(c.steady_now() - steady, 1500ms);
  c.advance(-10s);  // steady time never goes back
  EXPECT_EQ(c.steady_now() - steady, 1500ms);
}

TEST(Clock, SetMovesWallTimeButNotSteadyTime) {
  manual_clock c;
  auto steady = c.steady_now();
  std::chrono::system_clock::time_point t{std::chrono::seconds{1700000000}};
  c.set(t);
  EXPECT_EQ(c.now(), t);
  EXPECT_EQ(c.steady_now(), steady);
}

TEST(Clock, DefaultStartIsNewYear2025) {
  manual_clock c;
  EXPECT_EQ(format_utc_time_of_day(c.now()), "00:00:00Z");
  EXPECT_EQ(c.now().time_since_epoch(), std::chrono::seconds{1735689600});
}

TEST(Clock, FormatsUtcTimeOfDay) {
  using std::chrono::system_clock;
  // 2025-01-01T14:05:00.999Z: fractions are cut, not rounded.
  system_clock::time_point t{std::chrono::seconds{1735689600 + 14 * 3600 + 5 * 60}};
  EXPECT_EQ(format_utc_time_of_day(t), "14:05:00Z");
  EXPECT_EQ(format_utc_time_of_day(t + 999ms), "14:05:00Z");
  EXPECT_EQ(format_utc_time_of_day(system_clock::time_point{}), "00:00:00Z");
  EXPECT_EQ(format_utc_time_of_day(system_clock::time_point{} - 1s), "23:59:59Z");
  EXPECT_EQ(format_utc_time_of_day(system_clock::time_point{86399s}), "23:59:59Z");
}

TEST(Clock, SystemClockIsMonotonicAndNearTheRealTime) {
  const clock& c = system_clock();
  auto a = c.steady_now();
  auto b = c.steady_now();
  EXPECT_LE(a, b);
  auto diff = c.now() - std::chrono::system_clock::now();
  EXPECT_LT(std::chrono::abs(diff), 5s);
  EXPECT_EQ(&system_clock(), &c);
}

TEST(Clock, ManualClockIsSafeAcrossThreads) {
  manual_clock c;
  auto start = c.steady_now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&c] {
      for (int i = 0; i < 1000; ++i) {
        c.advance(1ms);
        (void)c.now();
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.steady_now() - start, 4000ms);
}

}  // namespace postern::base
