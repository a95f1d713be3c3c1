#include "directory/credential_cache.hpp"

#include <gtest/gtest.h>

namespace postern::directory {

using namespace std::chrono_literals;

TEST(CredentialCache, RemembersOnlyTheVerifiedPasswordForTheSameHash) {
  credential_cache c(10min);
  auto t0 = credential_cache::clock::now();
  EXPECT_FALSE(c.matches("joe@example.com", "{CRYPT}h1", "secret", t0));
  c.remember("joe@example.com", "{CRYPT}h1", "secret", t0);
  EXPECT_TRUE(c.matches("Joe@example.com", "{CRYPT}h1", "secret", t0 + 1min));
  EXPECT_FALSE(c.matches("joe@example.com", "{CRYPT}h1", "Secret", t0 + 1min));
  EXPECT_FALSE(c.matches("ann@example.com", "{CRYPT}h1", "secret", t0 + 1min));
  // `user passwd` changed the stored hash: the old password no longer passes.
  EXPECT_FALSE(c.matches("joe@example.com", "{CRYPT}h2", "secret", t0 + 2min));
  EXPECT_FALSE(c.matches("joe@example.com", "{CRYPT}h1", "secret", t0 + 2min));
}

TEST(CredentialCache, EntriesExpire) {
  credential_cache c(10min);
  auto t0 = credential_cache::clock::now();
  c.remember("joe@example.com", "{CRYPT}h", "pw", t0);
  EXPECT_TRUE(c.matches("joe@example.com", "{CRYPT}h", "pw", t0 + 9min));
  EXPECT_FALSE(c.matches("joe@example.com", "{CRYPT}h", "pw", t0 + 11min));
}

TEST(CredentialCache, StaysBounded) {
  credential_cache c(10min, 3);
  auto t0 = credential_cache::clock::now();
  for (int i = 0; i < 10; ++i) c.remember("u" + std::to_string(i) + "@x", "h", "pw", t0);
  EXPECT_TRUE(c.matches("u9@x", "h", "pw", t0));
  EXPECT_FALSE(c.matches("u0@x", "h", "pw", t0));
}

}  // namespace postern::directory
