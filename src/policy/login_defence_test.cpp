#include "policy/login_defence.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace postern::policy {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

// 2025-03-01T13:55:00Z
const std::chrono::system_clock::time_point start{std::chrono::seconds{1740837300}};

TEST(LoginDefence, DelayDoublesUpToTheCap) {
  base::manual_clock clock(start);
  login_defence d(clock);
  login_defence_settings s;
  std::vector<milliseconds> got;
  for (int i = 0; i < 5; ++i) {
    got.push_back(d.record_failure("192.0.2.7", "joe@example.com", s));
    clock.advance(1s);
  }
  EXPECT_EQ(got, (std::vector<milliseconds>{2s, 4s, 8s, 15s, 15s}));
}

TEST(LoginDefence, FreshAddressIsSlowedByTheAccountsFailures) {
  base::manual_clock clock(start);
  login_defence d(clock);
  login_defence_settings s;
  d.record_failure("192.0.2.7", "joe@example.com", s);
  d.record_failure("192.0.2.8", "joe@example.com", s);
  // A third address, same account: its third failure.
  EXPECT_EQ(d.record_failure("198.51.100.1", "joe@example.com", s), 8s);
  // Accounts are compared without case.
  EXPECT_EQ(d.record_failure("198.51.100.2", "JOE@example.com", s), 15s);
  // A fresh address at a fresh account starts over.
  EXPECT_EQ(d.record_failure("198.51.100.3", "ann@example.com", s), 2s);
}

TEST(LoginDefence, SuccessClearsTheAccountButNotTheAddress) {
  base::manual_clock clock(start);
  login_defence d(clock);
  login_defence_settings s;
  for (int i = 0; i < 3; ++i) d.record_failure("192.0.2.7", "joe@example.com", s);
  d.record_success("192.0.2.7", "joe@example.com");
  // The account starts over from another address...
  EXPECT_EQ(d.record_failure("192.0.2.99", "joe@example.com", s), 2s);
  // ...but the address remembers its three failures.
  EXPECT_EQ(d.record_failure("192.0.2.7", "ann@example.com", s), 15s);
}

TEST(LoginDefence, BlocksTheAddressAtTheThresholdAndSaysUntilWhen) {
  base::manual_clock clock(start);
  login_defence d(clock);
  login_defence_settings s;
  for (int i = 0; i < 9; ++i) {
    EXPECT_FALSE(d.check("192.0.2.7", s)) << i;
    d.record_failure("192.0.2.7", fmt::format("user{}@example.com", i), s);
    clock.advance(10s);
  }
  EXPECT_FALSE(d.check("192.0.2.7", s));
  d.record_failure("192.0.2.7", "joe@example.com", s);  // the tenth, at 13:56:30
  auto r = d.check("192.0.2.7", s);
  ASSERT_TRUE(r);
  // The first failure, at 13:55:00, must age out of the 10-minute window.
  EXPECT_EQ(r->until, start + 600s);
  EXPECT_EQ(r->message, "Too many failed logins from 192.0.2.7: try again after 14:05:00Z");
  // Another address is not affected, and neither are the accounts.
  EXPECT_FALSE(d.check("192.0.2.8", s));
  EXPECT_EQ(d.record_failure("192.0.2.8", "ann@example.com", s), 2s);
}

TEST(LoginDefence, UnblocksWhenTheWindowMovesOn) {
  base::manual_clock clock(start);
  login_defence d(clock);
  login_defence_settings s;
  for (int i = 0; i < 11; ++i) {
    d.record_failure("2001:db8::1", "joe@example.com", s);
    clock.advance(1s);
  }
  // Eleven failures, one a second from 13:55:00: the second one (13:55:01)
  // is the last that must age out.
  auto r = d.check("2001:db8::1", s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->until, start + 601s);
  EXPECT_EQ(r->message, "Too many failed logins from 2001:db8::1: try again after 14:05:01Z");
  clock.advance(std::chrono::duration_cast<milliseconds>(start + 601s - clock.now()) - 1ms);
  EXPECT_TRUE(d.check("2001:db8::1", s));
  clock.advance(1ms);
  EXPECT_FALSE(d.check("2001:db8::1", s));
  // Nine failures are still in the window: one more blocks again.
  d.record_failure("2001:db8::1", "joe@example.com", s);
  EXPECT_TRUE(d.check("2001:db8::1", s));
}

// `postern block list` and `block clear`: what is held, who is refused until
// when, and forgetting one address without touching the others.
TEST(LoginDefence, ListsWhatItHoldsAndClearsOneName) {
  base::manual_clock clock(start);
  login_defence d(clock);
  login_defence_settings s;
  s.block_threshold = 3;
  s.first_delay = 0ms;
  for (int i = 0; i < 3; ++i) {
    d.record_failure("192.0.2.7", "Joe@example.com", s);
    clock.advance(1s);
  }
  d.record_failure("192.0.2.8", "ann@example.com", s);
  auto held = d.list(s);
  ASSERT_EQ(held.size(), 4u);
  auto find = [&](std::string_view name) {
    for (auto& e : held)
      if (e.name == name) return e;
    ADD_FAILURE() << name;
    return login_defence::tracked_entry{};
  };
  auto ip = find("192.0.2.7");
  EXPECT_TRUE(ip.is_address);
  EXPECT_EQ(ip.failures, 3u);
  ASSERT_TRUE(ip.blocked_until);
  EXPECT_EQ(*ip.blocked_until, start + 600s);  // the first failure leaves the window
  EXPECT_EQ(ip.first_failure, start);
  EXPECT_EQ(ip.last_failure, start + 2s);
  auto joe = find("joe@example.com");  // lower-cased; every failure counted, not only the kept
  EXPECT_FALSE(joe.is_address);
  EXPECT_EQ(joe.failures, 3u);
  EXPECT_FALSE(joe.blocked_until);
  EXPECT_FALSE(find("192.0.2.8").blocked_until);
  EXPECT_TRUE(d.clear("192.0.2.7"));
  EXPECT_FALSE(d.check("192.0.2.7", s));
  EXPECT_FALSE(d.clear("192.0.2.7"));
  EXPECT_TRUE(d.clear("JOE@example.com"));
  EXPECT_EQ(d.list(s).size(), 2u);
  // Past the window nothing is listed.
  clock.advance(601s);
  EXPECT_TRUE(d.list(s).empty());
}

TEST(LoginDefence, RefusalTimeIsRoundedUpToTheSecond) {
  base::manual_clock clock(start + 250ms);
  login_defence d(clock);
  login_defence_settings s;
  s.block_threshold = 1;
  d.record_failure("192.0.2.7", "joe", s);
  auto r = d.check("192.0.2.7", s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->until, start + 600250ms);
  EXPECT_EQ(r->message, "Too many failed logins from 192.0.2.7: try again after 14:05:01Z");
}

TEST(LoginDefence, ThresholdZeroNeverBlocks) {
  base::manual_clock clock(start);
  login_defence d(clock);
  login_defence_settings s;
  s.block_threshold = 0;
  milliseconds last{};
  for (int i = 0; i < 50; ++i) last = d.record_failure("192.0.2.7", "joe", s);
  EXPECT_FALSE(d.check("192.0.2.7", s));
  EXPECT_EQ(last, 15s);
}

TEST(LoginDefence, FirstDelayZeroMeansNoDelay) {
  base::manual_clock clock(start);
  login_defence d(clock);
  login_defence_settings s;
  s.first_delay = 0ms;
  for (int i = 0; i < 12; ++i) EXPECT_EQ(d.record_failure("192.0.2.7", "joe", s), 0ms);
  EXPECT_TRUE(d.check("192.0.2.7", s));  // blocking does not depend on the delay
}

TEST(LoginDefence, HugeDelaysDoNotOverflow) {
  base::manual_clock clock(start);
  login_defence d(clock);
  login_defence_settings s;
  s.first_delay = milliseconds::max() / 3;
  s.max_delay = milliseconds::max();
  s.block_threshold = 0;
  milliseconds last{};
  for (int i = 0; i < 5; ++i) last = d.record_failure("192.0.2.7", "joe", s);
  EXPECT_EQ(last, milliseconds::max());
}

TEST(LoginDefence, FailuresOlderThanTheWindowAreForgotten) {
  base::manual_clock clock(start);
  login_defence d(clock);
  login_defence_settings s;
  for (int i = 0; i < 10; ++i) d.record_failure("192.0.2.7", "joe", s);
  ASSERT_TRUE(d.check("192.0.2.7", s));
  EXPECT_EQ(d.tracked(), 2u);
  clock.advance(600s);
  EXPECT_FALSE(d.check("192.0.2.7", s));
  EXPECT_EQ(d.tracked(), 0u);  // both entries dropped, not only ignored
  EXPECT_EQ(d.record_failure("192.0.2.7", "joe", s), 2s);
}

TEST(LoginDefence, ExpiredEntriesVanishWithoutBeingLookedUp) {
  base::manual_clock clock(start);
  login_defence d(clock);
  login_defence_settings s;
  for (int i = 0; i < 1000; ++i)
    d.record_failure(fmt::format("10.0.{}.{}", i / 256, i % 256), fmt::format("u{}", i), s);
  EXPECT_EQ(d.tracked(), 2000u);
  clock.advance(599s);
  d.record_failure("192.0.2.7", "joe", s);
  EXPECT_EQ(d.tracked(), 2002u);
  clock.advance(1s);
  EXPECT_FALSE(d.check("198.51.100.1", s));  // any call sweeps
  EXPECT_EQ(d.tracked(), 2u);
  clock.advance(599s);
  d.record_success("192.0.2.1", "someone");
  EXPECT_EQ(d.tracked(), 0u);
}

TEST(LoginDefence, MemoryStaysBoundedUnderAMillionAddresses) {
  base::manual_clock clock(start);
  login_defence d(clock, 1000);
  login_defence_settings s;
  size_t most = 0;
  for (uint32_t i = 0; i < 1000000; ++i) {
    auto ip = fmt::format("{}.{}.{}.{}", 10 + (i >> 24), (i >> 16) & 255, (i >> 8) & 255, i & 255);
    // Rotating account names as well.
    d.record_failure(ip, fmt::format("user{}", i), s);
    most = std::max(most, d.tracked());
  }
  EXPECT_LE(most, 1000u);
  EXPECT_EQ(d.tracked(), 1000u);
  // The most recent survive eviction.
  EXPECT_EQ(d.record_failure("10.15.66.63", "nobody", s), 4s);
}

TEST(LoginDefence, AnAddressKeepsOnlyAsManyTimestampsAsItNeeds) {
  base::manual_clock clock(start);
  login_defence d(clock);
  login_defence_settings s;
  for (int i = 0; i < 10000; ++i) {
    d.record_failure("192.0.2.7", "joe", s);
    clock.advance(10ms);
  }
  // Kept: the last ten, so the block lasts until the tenth-newest ages out:
  // failure 9990 of 0..9999, at 99.9 s.
  auto r = d.check("192.0.2.7", s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->until, start + 99900ms + 600s);
}

TEST(LoginDefence, ThresholdAboveTheKeptCapIsClamped) {
  base::manual_clock clock(start);
  login_defence d(clock);
  login_defence_settings s;
  s.block_threshold = 1000000;
  for (uint32_t i = 0; i < login_defence::max_kept_failures - 1; ++i)
    d.record_failure("192.0.2.7", "joe", s);
  EXPECT_FALSE(d.check("192.0.2.7", s));
  d.record_failure("192.0.2.7", "joe", s);
  EXPECT_TRUE(d.check("192.0.2.7", s));
}

TEST(LoginDefence, LongNamesAreCutAndEscapedInTheMessage) {
  base::manual_clock clock(start);
  login_defence d(clock);
  login_defence_settings s;
  s.block_threshold = 1;
  std::string long_name(100000, 'x');
  d.record_failure("192.0.2.7", long_name, s);
  EXPECT_EQ(d.record_failure("192.0.2.8", long_name + "y", s),
            4s);  // same cut key
  d.record_failure("bad\r\nip", "joe", s);
  auto r = d.check("bad\r\nip", s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->message, "Too many failed logins from bad\\x0d\\x0aip: try again after 14:05:00Z");
}

TEST(LoginDefence, SafeFromSeveralThreads) {
  base::manual_clock clock(start);
  login_defence d(clock, 500);
  login_defence_settings s;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        auto ip = fmt::format("10.{}.{}.{}", t, i / 256, i % 256);
        d.check(ip, s);
        d.record_failure(ip, fmt::format("u{}", i % 50), s);
        if (i % 7 == 0) d.record_success(ip, fmt::format("u{}", i % 50));
        if (i % 100 == 0) clock.advance(1s);
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_LE(d.tracked(), 500u);
}

}  // namespace postern::policy
