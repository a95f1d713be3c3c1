#include "policy/connection_registry.hpp"

#include <gtest/gtest.h>

namespace postern::policy {

TEST(ConnectionRegistry, PerUserLimitNamesTheSettingAndReleases) {
  connection_registry r;
  auto a = r.admit_user("pop3", "joe@example.com", 2);
  auto b = r.admit_user("pop3", "Joe@example.com", 2);
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  auto c = r.admit_user("pop3", "joe@example.com", 2);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.err().message,
            "joe@example.com already has 2 of 2 connections (max_connections_per_user)");
  a->release();
  EXPECT_TRUE(r.admit_user("pop3", "joe@example.com", 2));
  EXPECT_EQ(r.user_connections("pop3", "joe@example.com"), 1u);
}

TEST(ConnectionRegistry, TotalAndPerIpLimits) {
  connection_registry r;
  auto a = r.admit("pop3", "10.0.0.1", 3, 1);
  ASSERT_TRUE(a);
  auto b = r.admit("pop3", "10.0.0.1", 3, 1);
  ASSERT_FALSE(b);
  EXPECT_NE(b.err().message.find("max_connections_from_single_ip"), std::string::npos);
  auto c = r.admit("pop3", "10.0.0.2", 2, 1);
  ASSERT_TRUE(c);
  auto d = r.admit("pop3", "10.0.0.3", 2, 1);
  ASSERT_FALSE(d);
  EXPECT_NE(d.err().message.find("(max_connections)"), std::string::npos);
  EXPECT_TRUE(r.admit("lmtp", "10.0.0.3", 2, 1));  // other protocols count apart
  { auto moved = std::move(*c); }
  EXPECT_EQ(r.connections("pop3"), 1u);
}

}  // namespace postern::policy
