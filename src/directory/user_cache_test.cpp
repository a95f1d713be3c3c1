#include "directory/user_cache.hpp"

#include <gtest/gtest.h>

namespace postern::directory {

TEST(UserCache, AnswersUntilTheDirectoryChanges) {
  user_cache c;
  c.invalidate_if_changed(5);
  EXPECT_FALSE(c.find("joe@example.com"));
  c.put(user_record{7, "joe@example.com", "{CRYPT}secret"});
  auto u = c.find("joe@example.com");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->id, 7);
  EXPECT_EQ(u->password_hash, "");  // hashes are never kept here
  c.invalidate_if_changed(5);
  EXPECT_TRUE(c.find("joe@example.com"));
  c.invalidate_if_changed(6);  // `postern user remove` ran somewhere
  EXPECT_FALSE(c.find("joe@example.com"));
}

TEST(UserCache, StaysBounded) {
  user_cache c(3);
  for (int i = 0; i < 10; ++i) c.put(user_record{i, "u" + std::to_string(i) + "@x", ""});
  int present = 0;
  for (int i = 0; i < 10; ++i) present += c.find("u" + std::to_string(i) + "@x") ? 1 : 0;
  EXPECT_LE(present, 3);
}

}  // namespace postern::directory
