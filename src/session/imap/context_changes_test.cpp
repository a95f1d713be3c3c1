// UPDATE contexts' changes (RFC 5267 §4.3.3, §4.3.4): the RFC's examples, and
// on thousands of random results, a client that applies the changes in order
// ends with exactly the new result.
#include "session/imap/context_changes.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

namespace postern::session::imap {
namespace {

uint32_t same(uint32_t n) { return n; }

TEST(ContextChanges, RfcExampleInsertsBeforeTheResult) {
  // §4.3.3: a result of 2734:2735 becomes 2731:2735.
  auto c = sorted_changes({2734, 2735}, {2731, 2732, 2733, 2734, 2735});
  EXPECT_EQ(format_changes(c, same), " ADDTO (1 2731:2733)");
  EXPECT_EQ(apply_changes({2734, 2735}, c), (std::vector<uint32_t>{2731, 2732, 2733, 2734, 2735}));
}

TEST(ContextChanges, SearchResultsUsePositionZeroInMailboxOrder) {
  auto c = unsorted_changes({3, 5, 7, 9}, {3, 4, 9, 32768, 32769});
  EXPECT_EQ(format_changes(c, same), " REMOVEFROM (0 5,7) ADDTO (0 4,32768:32769)");
  EXPECT_EQ(apply_changes({3, 5, 7, 9}, c), (std::vector<uint32_t>{3, 4, 9, 32768, 32769}));
  EXPECT_TRUE(unsorted_changes({1, 2}, {1, 2}).empty());
  EXPECT_EQ(format_changes({}, same), "");
}

TEST(ContextChanges, SortedRemovalsAndInsertionsNameTheirPositions) {
  // Sort order 9 4 7 1 8; 4 and 7 go, 2 arrives between 9 and 1, 6 at the end.
  auto c = sorted_changes({9, 4, 7, 1, 8}, {9, 2, 1, 8, 6});
  EXPECT_EQ(format_changes(c, same), " REMOVEFROM (2 4,7) ADDTO (2 2 5 6)");
  EXPECT_EQ(apply_changes({9, 4, 7, 1, 8}, c), (std::vector<uint32_t>{9, 2, 1, 8, 6}));
}

TEST(ContextChanges, NumbersAreShownAsTheClientKnowsThem) {
  // UIDs 10, 20, 30 are sequence numbers 1, 2, 3.
  auto c = sorted_changes({30, 10}, {30, 20, 10});
  EXPECT_EQ(format_changes(c, [](uint32_t uid) { return uid / 10; }), " ADDTO (2 2)");
}

TEST(ContextChanges, AChangedOrderReplacesTheWholeResult) {
  auto c = sorted_changes({1, 2, 3}, {3, 1, 2, 4});
  EXPECT_EQ(format_changes(c, same), " REMOVEFROM (1 1:3) ADDTO (1 3,1:2,4)");
  EXPECT_EQ(apply_changes({1, 2, 3}, c), (std::vector<uint32_t>{3, 1, 2, 4}));
  EXPECT_EQ(apply_changes({5}, sorted_changes({5}, {})), std::vector<uint32_t>{});
  EXPECT_EQ(apply_changes({}, sorted_changes({}, {5, 4})), (std::vector<uint32_t>{5, 4}));
}

TEST(ContextChanges, RandomResultsComeOutRightWhenApplied) {
  std::mt19937 rng(5267);
  for (int round = 0; round < 3000; ++round) {
    uint32_t n = 1 + rng() % 60;
    // One sort order for the whole folder: a result is a subset in that order.
    std::vector<uint32_t> order(n);
    std::iota(order.begin(), order.end(), 1);
    std::shuffle(order.begin(), order.end(), rng);
    auto subset = [&](int percent) {
      std::vector<uint32_t> out;
      for (auto x : order)
        if (static_cast<int>(rng() % 100) < percent) out.push_back(x);
      return out;
    };
    auto before = subset(static_cast<int>(rng() % 101));
    auto after = subset(static_cast<int>(rng() % 101));
    auto sorted = sorted_changes(before, after);
    ASSERT_EQ(apply_changes(before, sorted), after) << "round " << round;
    for (auto& c : sorted) ASSERT_FALSE(c.items.empty());
    auto b = before, a = after;
    std::sort(b.begin(), b.end());
    std::sort(a.begin(), a.end());
    ASSERT_EQ(apply_changes(b, unsorted_changes(b, a)), a) << "round " << round;
  }
}

}  // namespace
}  // namespace postern::session::imap
