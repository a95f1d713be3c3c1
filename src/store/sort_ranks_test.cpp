#include "store/sort_ranks.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace postern::store {
namespace {

std::vector<sorted_message> with_subjects(const std::vector<std::string>& subjects) {
  std::vector<sorted_message> rows;
  uint32_t uid = 0;
  for (auto& s : subjects) {
    sorted_message m;
    m.uid = ++uid;
    m.keys.subject = s;
    rows.push_back(m);
  }
  return rows;
}

TEST(SortRanks, EqualStringsShareARankAndEmptyIsZero) {
  auto rows = with_subjects({"B", "", "A", "B", "AB", ""});
  auto r = make_ranks(rows, sort_string::subject).rank;
  EXPECT_EQ(r, (std::vector<uint32_t>{3, 0, 1, 3, 2, 0}));
}

TEST(SortRanks, OctetOrderNotLocaleOrder) {
  // RFC 5256 §3 compares the folded keys' octets: UTF-8 after ASCII, and a
  // prefix before what it prefixes.
  auto rows = with_subjects({"\xC3\x89T\xC3\x89", "Z", "ZZ", "Z\x01"});
  auto r = make_ranks(rows, sort_string::subject).rank;
  EXPECT_EQ(r, (std::vector<uint32_t>{4, 1, 3, 2}));
}

TEST(SortRanks, EachKeyReadsItsField) {
  std::vector<sorted_message> rows(2);
  rows[0].keys.from = "B";
  rows[1].keys.from = "A";
  rows[0].keys.display_to = "A";
  rows[1].keys.display_to = "B";
  EXPECT_EQ(make_ranks(rows, sort_string::from).rank, (std::vector<uint32_t>{2, 1}));
  EXPECT_EQ(make_ranks(rows, sort_string::display_to).rank, (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(make_ranks(rows, sort_string::cc).rank, (std::vector<uint32_t>{0, 0}));
}

TEST(SortRanks, OrderIsByValueThenRow) {
  auto rows = with_subjects({"B", "", "A", "B", "AB", ""});
  EXPECT_EQ(make_ranks(rows, sort_string::subject).order,
            (std::vector<uint32_t>{1, 5, 2, 4, 0, 3}));
}

TEST(SortRanks, ComparingRanksIsComparingStrings) {
  std::mt19937 rng(7);
  std::vector<std::string> subjects;
  for (int i = 0; i < 3000; ++i) {
    std::string s(rng() % 4, 'a');
    for (auto& c : s) c = static_cast<char>('a' + rng() % 3);
    subjects.push_back(s);
  }
  auto rows = with_subjects(subjects);
  auto r = make_ranks(rows, sort_string::subject).rank;
  auto order = make_ranks(rows, sort_string::subject).order;
  ASSERT_EQ(order.size(), rows.size());
  for (size_t i = 1; i < order.size(); ++i) {
    auto a = order[i - 1], b = order[i];
    EXPECT_TRUE(subjects[a] < subjects[b] || (subjects[a] == subjects[b] && a < b));
  }
  for (int n = 0; n < 20000; ++n) {
    size_t a = rng() % rows.size(), b = rng() % rows.size();
    auto strings = subjects[a].compare(subjects[b]);
    EXPECT_EQ(strings < 0, r[a] < r[b]) << subjects[a] << " / " << subjects[b];
    EXPECT_EQ(strings == 0, r[a] == r[b]) << subjects[a] << " / " << subjects[b];
  }
}

}  // namespace
}  // namespace postern::store
