#include "policy/send_rate.hpp"

#include <gtest/gtest.h>

namespace postern::policy {

using namespace std::chrono_literals;

TEST(SendRate, RefusesPastTheHourlyLimitUntilTheOldestAgesOut) {
  // 2025-03-01T13:55:00Z
  base::manual_clock clock(std::chrono::system_clock::time_point{std::chrono::seconds{1740837300}});
  send_rate rate(clock);
  EXPECT_FALSE(rate.refusal("joe@example.com", 2));
  rate.record("joe@example.com", 2);
  clock.advance(10min);
  rate.record("JOE@example.com", 2);
  auto refusal = rate.refusal("joe@example.com", 2);
  ASSERT_TRUE(refusal);
  EXPECT_EQ(*refusal,
            "joe@example.com sent 2 messages in the last hour, the limit (max_messages_per_hour); "
            "try again after 14:55:01Z");
  EXPECT_FALSE(rate.refusal("ann@example.com", 2));
  clock.advance(50min);
  EXPECT_FALSE(rate.refusal("joe@example.com", 2));
  EXPECT_EQ(rate.sent_last_hour("joe@example.com"), 1u);
  // A raised limit counts at once.
  rate.record("joe@example.com", 2);
  EXPECT_TRUE(rate.refusal("joe@example.com", 2));
  EXPECT_FALSE(rate.refusal("joe@example.com", 3));
}

}  // namespace postern::policy
