#include "session/imap/sequence.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace postern::session::imap {
namespace {

TEST(Sequence, OrderedSetKeepsTheOrderAndJoinsAscendingRuns) {
  EXPECT_EQ(ordered_set({7, 3, 4, 1}), "7,3:4,1");  // RFC 5267 §3.2
  EXPECT_EQ(ordered_set({}), "");
  EXPECT_EQ(ordered_set({5, 4, 3}), "5,4,3");
}

TEST(Sequence, AppendNumbersWritesEachWithASpace) {
  std::string line = "SORT";
  append_numbers(line, {2, 10, 4294967295u, 0, 1});
  EXPECT_EQ(line, "SORT 2 10 4294967295 0 1");
  std::string empty = "SEARCH";
  append_numbers(empty, {});
  EXPECT_EQ(empty, "SEARCH");
}

}  // namespace
}  // namespace postern::session::imap
