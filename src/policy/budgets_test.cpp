#include "policy/budgets.hpp"

#include <gtest/gtest.h>

namespace postern::policy {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using kind = budget_verdict::kind;

budget_settings small() {
  budget_settings s;
  s.max_concurrency = 2;
  s.max_burst = 1000ms;
  s.recharge_rate = 3600000ms;  // 1 ms per ms of wall time
  s.cutoff_balance = 500ms;
  return s;
}

TEST(Budgets, AnOrdinaryClientIsNeverTouched) {
  base::manual_clock clock;
  budgets b(clock);
  budget_settings s;  // the defaults
  auto a = b.account("imap", "joe@example.com", s);
  // A command every 100 ms that takes 20 ms of server time, for an hour.
  for (int i = 0; i < 36000; ++i) {
    ASSERT_EQ(a->begin(s, 0ms).what, kind::run) << "command " << i;
    a->done(20000us, s);
    clock.advance(100ms);
  }
  EXPECT_EQ(a->state(s).delayed, 0u);
}

TEST(Budgets, SpendingPastTheBalanceDelaysUntilItRecharges) {
  base::manual_clock clock;
  budgets b(clock);
  auto s = small();
  auto a = b.account("pop3", "joe@example.com", s);
  ASSERT_EQ(a->begin(s, 0ms).what, kind::run);
  a->done(1200ms, s);  // balance -200
  auto v = a->begin(s, 0ms);
  EXPECT_EQ(v.what, kind::wait);
  EXPECT_EQ(v.wait, 200ms);
  clock.advance(v.wait);
  // Held back once; the command then runs.
  EXPECT_EQ(a->begin(s, v.wait).what, kind::run);
  a->done(0us, s);
  EXPECT_EQ(a->state(s).delayed, 1u);
  EXPECT_EQ(b.counters()["pop3"].delayed, 1u);
}

TEST(Budgets, BelowTheCutoffRefusesUntilBackAtZero) {
  base::manual_clock clock;
  budgets b(clock);
  auto s = small();
  auto a = b.account("imap", "joe@example.com", s);
  ASSERT_EQ(a->begin(s, 0ms).what, kind::run);
  a->done(1600ms, s);  // balance -600, below -500
  auto v = a->begin(s, 0ms);
  ASSERT_EQ(v.what, kind::refuse);
  EXPECT_NE(v.message.find("joe@example.com's IMAP budget is spent"), std::string::npos)
      << v.message;
  EXPECT_NE(v.message.find("cutoff_balance (-500 ms)"), std::string::npos) << v.message;
  EXPECT_NE(v.message.find("try again after"), std::string::npos) << v.message;
  EXPECT_EQ(v.retry_at, clock.now() + 600ms);
  ASSERT_TRUE(a->login_refusal(s).has_value());
  // Recharged above the cutoff but still below zero: still refused.
  clock.advance(300ms);
  EXPECT_EQ(a->begin(s, 0ms).what, kind::refuse);
  clock.advance(300ms);
  EXPECT_FALSE(a->login_refusal(s).has_value());
  EXPECT_EQ(a->begin(s, 0ms).what, kind::run);
  EXPECT_EQ(b.counters()["imap"].refused, 3u);
}

TEST(Budgets, MaxConcurrencyWaitsForASlotThenRefuses) {
  base::manual_clock clock;
  budgets b(clock);
  auto s = small();
  auto a = b.account("imap", "joe@example.com", s);
  ASSERT_EQ(a->begin(s, 0ms).what, kind::run);
  ASSERT_EQ(a->begin(s, 0ms).what, kind::run);
  auto v = a->begin(s, 0ms);
  EXPECT_EQ(v.what, kind::wait);
  v = a->begin(s, max_delay);
  ASSERT_EQ(v.what, kind::refuse);
  EXPECT_NE(v.message.find("max_concurrency"), std::string::npos) << v.message;
  a->done(0us, s);
  EXPECT_EQ(a->begin(s, 0ms).what, kind::run);
}

TEST(Budgets, RechargeStopsAtMaxBurst) {
  base::manual_clock clock;
  budgets b(clock);
  auto s = small();
  auto a = b.account("pop3", "joe@example.com", s);
  clock.advance(10s);
  EXPECT_EQ(a->state(s).balance_ms, 1000);
  ASSERT_EQ(a->begin(s, 0ms).what, kind::run);
  a->done(1000ms, s);
  EXPECT_EQ(a->state(s).balance_ms, 0);
}

TEST(Budgets, OneAccountPerUserAndProtocolWhateverTheCase) {
  base::manual_clock clock;
  budgets b(clock);
  auto s = small();
  auto a = b.account("pop3", "joe@example.com", s);
  EXPECT_EQ(b.account("pop3", "JOE@example.com", s), a);
  EXPECT_NE(b.account("imap", "joe@example.com", s), a);
  EXPECT_EQ(b.find("pop3", "joe@example.com"), a);
  EXPECT_EQ(b.find("pop3", "ann@example.com"), nullptr);
}

TEST(Budgets, FullIdleAccountsAreDropped) {
  base::manual_clock clock;
  budgets b(clock);
  auto s = small();
  {
    auto held = b.account("pop3", "user0@example.com", s);
    ASSERT_EQ(held->begin(s, 0ms).what, kind::run);
    held->done(900ms, s);  // not full: must be kept
  }
  for (int i = 1; i < 1000; ++i) b.account("pop3", "user" + std::to_string(i) + "@example.com", s);
  EXPECT_EQ(b.find("pop3", "user1@example.com"), nullptr);
  EXPECT_NE(b.find("pop3", "user0@example.com"), nullptr);
}

}  // namespace postern::policy
