#include "session/core/session_table.hpp"

#include <gtest/gtest.h>

namespace postern::session::core {

TEST(SessionTable, KillChoosesEachSessionOnceAndTellsTheReason) {
  session_table t;
  std::vector<std::pair<std::string, std::string>> told;
  auto killer = [&](std::shared_ptr<session_table::entry> e, std::string reason) {
    told.emplace_back(e->snapshot().id, reason);
  };
  auto a = t.add({"a", "pop3", "192.0.2.1"}, killer);
  auto b = t.add({"b", "imap", "192.0.2.2"}, killer);
  a->update([](session_info& i) { i.user = "joe@example.com"; });
  EXPECT_EQ(t.size(), 2u);
  auto joe = [](const session_info& i) { return i.user == "joe@example.com"; };
  EXPECT_EQ(t.kill(joe, "ended"), 1u);
  ASSERT_EQ(told.size(), 1u);
  EXPECT_EQ(told[0], (std::pair<std::string, std::string>{"a", "ended"}));
  // Already told to end: not chosen again (a drain repeats every 250 ms).
  EXPECT_EQ(t.kill(joe, "ended"), 0u);
  auto listed = t.list();
  ASSERT_EQ(listed.size(), 2u);
  t.remove("a");
  t.remove("b");
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.kill([](const session_info&) { return true; }, "x"), 0u);
}

}  // namespace postern::session::core
