#include "proto/imap/sort_args.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <vector>

#include "base/strings.hpp"

namespace postern::proto::imap {

namespace {

using sort_key = sort_criterion::key;

const char* name(sort_key k) {
  static const char* names[] = {"ARRIVAL", "CC", "DATE",        "FROM",      "SIZE",
                                "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO", "RELEVANCY"};
  return names[static_cast<int>(k)];
}

std::string show_return(const search_return& r) {
  if (!r.has_return) return {};
  std::string out = "RETURN(";
  if (r.ret_min) out += " MIN";
  if (r.ret_max) out += " MAX";
  if (r.ret_all) out += " ALL";
  if (r.ret_count) out += " COUNT";
  if (r.ret_save) out += " SAVE";
  if (r.ret_relevancy) out += " RELEVANCY";
  if (r.ret_context) out += " CONTEXT";
  if (r.ret_update) out += " UPDATE";
  if (r.partial)
    out += " PARTIAL " + std::to_string(r.partial->first) + ":" + std::to_string(r.partial->last);
  return out + " ) ";
}

// RETURN( MIN ) (REVERSE DATE SUBJECT) [UTF-8]; the keys are compared apart.
std::string show(const sort_request& r) {
  std::string out = show_return(r) + "(";
  for (size_t i = 0; i < r.criteria.size(); ++i) {
    if (i) out += ' ';
    if (r.criteria[i].reverse) out += "REVERSE ";
    out += name(r.criteria[i].what);
  }
  return out + ") [" + r.charset + "]";
}

std::string show(const thread_request& r) {
  static const char* names[] = {"ORDEREDSUBJECT", "REFERENCES", "REFS"};
  return std::string(names[static_cast<int>(r.algorithm)]) + " [" + r.charset + "]";
}

bool same(const sequence_set& a, const sequence_set& b) {
  return a.saved_result == b.saved_result && a.ranges == b.ranges;
}

// Two key trees are the same in every field a matcher reads.
bool same(const search_key& a, const search_key& b) {
  if (a.what != b.what || a.text != b.text || a.value != b.value || a.number != b.number ||
      a.date != b.date || !same(a.set, b.set) || a.fuzzy != b.fuzzy ||
      a.children.size() != b.children.size())
    return false;
  for (size_t i = 0; i < a.children.size(); ++i)
    if (!same(a.children[i], b.children[i])) return false;
  return true;
}

// The tree SEARCH makes of `keys`, which SORT and THREAD must make too.
search_key keys_of(const std::string& keys) {
  auto r = parse_search(keys);
  EXPECT_TRUE(r) << keys << ": " << r.error().words;
  return r ? r->root : search_key{};
}

struct good {
  std::string in;
  std::string want;  // show() of the result
  std::string keys;  // the search keys as SEARCH would take them
};

const std::vector<good> valid_sorts = {
    {"(DATE) UTF-8 ALL", "(DATE) [UTF-8]", "ALL"},
    // RFC 5256 §3 and RFC 5267 §3.3 examples.
    {"(SUBJECT) UTF-8 SINCE 1-Feb-1994", "(SUBJECT) [UTF-8]", "SINCE 1-Feb-1994"},
    {"(REVERSE DATE) UTF-8 UNDELETED UNKEYWORD $Junk", "(REVERSE DATE) [UTF-8]",
     "UNDELETED UNKEYWORD $Junk"},
    {"(ARRIVAL CC DATE FROM SIZE SUBJECT TO DISPLAYFROM DISPLAYTO) US-ASCII ALL",
     "(ARRIVAL CC DATE FROM SIZE SUBJECT TO DISPLAYFROM DISPLAYTO) [US-ASCII]", "ALL"},
    {"(REVERSE ARRIVAL REVERSE CC REVERSE DISPLAYFROM REVERSE DISPLAYTO) UTF-8 ALL",
     "(REVERSE ARRIVAL REVERSE CC REVERSE DISPLAYFROM REVERSE DISPLAYTO) [UTF-8]", "ALL"},
    {"(SUBJECT REVERSE DATE) \"UTF-8\" OR FROM a (TO b SEEN)", "(SUBJECT REVERSE DATE) [UTF-8]",
     "OR FROM a (TO b SEEN)"},
    {"(SIZE) {5}\r\nUTF-8 SUBJECT {3}\r\nabc", "(SIZE) [UTF-8]", "SUBJECT abc"},
    {"(SIZE) \"\" ALL", "(SIZE) []", "ALL"},
    {"(DATE DATE) UTF-8 ALL", "(DATE DATE) [UTF-8]", "ALL"},
    {"(FROM) UTF-8 UID $ 1:5,7", "(FROM) [UTF-8]", "UID $ 1:5,7"},
    {"(TO) UTF-8 TEXT \"caf\xc3\xa9\"", "(TO) [UTF-8]", "TEXT \"caf\xc3\xa9\""},
    // ESORT and CONTEXT=SORT (RFC 5267 §3, §4), PARTIAL from the end (RFC 9394).
    {"RETURN (MIN MAX) (DATE) UTF-8 ALL", "RETURN( MIN MAX ) (DATE) [UTF-8]", "ALL"},
    {"RETURN () (REVERSE DATE) UTF-8 UNDELETED UNKEYWORD $Junk",
     "RETURN( ALL ) (REVERSE DATE) [UTF-8]", "UNDELETED UNKEYWORD $Junk"},
    {"RETURN (ALL COUNT SAVE) (SIZE) UTF-8 ALL", "RETURN( ALL COUNT SAVE ) (SIZE) [UTF-8]", "ALL"},
    {"RETURN (SAVE) (SIZE) UTF-8 ALL", "RETURN( SAVE ) (SIZE) [UTF-8]", "ALL"},
    {"RETURN (PARTIAL 1:500) (DATE) UTF-8 ALL", "RETURN( PARTIAL 1:500 ) (DATE) [UTF-8]", "ALL"},
    {"RETURN (PARTIAL 1000:501 COUNT) (DATE) UTF-8 ALL",
     "RETURN( COUNT PARTIAL 501:1000 ) (DATE) [UTF-8]", "ALL"},
    {"RETURN (PARTIAL -1:-100) (REVERSE ARRIVAL) UTF-8 UNSEEN",
     "RETURN( PARTIAL -1:-100 ) (REVERSE ARRIVAL) [UTF-8]", "UNSEEN"},
    {"RETURN (PARTIAL -100:-1) (ARRIVAL) UTF-8 UNSEEN",
     "RETURN( PARTIAL -1:-100 ) (ARRIVAL) [UTF-8]", "UNSEEN"},
    {"RETURN (CONTEXT COUNT) (DATE) UTF-8 ALL", "RETURN( COUNT CONTEXT ) (DATE) [UTF-8]", "ALL"},
    {"RETURN (UPDATE) (DATE) UTF-8 ALL", "RETURN( UPDATE ) (DATE) [UTF-8]", "ALL"},
    // RFC 6203 §6 examples.
    {"(RELEVANCY) UTF-8 FUZZY SUBJECT \"Helo\"", "(RELEVANCY) [UTF-8]", "FUZZY SUBJECT Helo"},
    {"RETURN (RELEVANCY ALL) (RELEVANCY) UTF-8 FUZZY TEXT \"Helo\"",
     "RETURN( ALL RELEVANCY ) (RELEVANCY) [UTF-8]", "FUZZY TEXT Helo"},
    {"RETURN (RELEVANCY PARTIAL 1:10) (REVERSE RELEVANCY DATE) UTF-8 NOT FUZZY (TEXT a)",
     "RETURN( RELEVANCY PARTIAL 1:10 ) (REVERSE RELEVANCY DATE) [UTF-8]", "NOT FUZZY (TEXT a)"},
    {"(DATE) UTF-8 OR FROM a FUZZY (TO b)", "(DATE) [UTF-8]", "OR FROM a FUZZY (TO b)"},
};

const std::vector<good> valid_threads = {
    // RFC 5256 §3 examples.
    {"ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000", "ORDEREDSUBJECT [UTF-8]", "SINCE 5-MAR-2000"},
    {"REFERENCES US-ASCII TEXT \"gewp\"", "REFERENCES [US-ASCII]", "TEXT gewp"},
    {"REFS UTF-8 ALL", "REFS [UTF-8]", "ALL"},
    {"REFERENCES \"UTF-8\" UNSEEN (OR 1 2)", "REFERENCES [UTF-8]", "UNSEEN (OR 1 2)"},
    {"REFERENCES {5}\r\nUTF-8 SUBJECT {3}\r\nabc", "REFERENCES [UTF-8]", "SUBJECT abc"},
    {"ORDEREDSUBJECT UTF-8 FUZZY SUBJECT x", "ORDEREDSUBJECT [UTF-8]", "FUZZY SUBJECT x"},
    {"REFS UTF-8 UID $", "REFS [UTF-8]", "UID $"},
};

template <class Parse>
void expect_valid(Parse parse, const std::string& in, const good& g) {
  SCOPED_TRACE(base::printable(in, 200));
  auto r = parse(in);
  ASSERT_TRUE(r) << r.error().words;
  EXPECT_EQ(show(*r), g.want);
  EXPECT_TRUE(same(r->root, keys_of(g.keys)));
}

std::string mixed_case(const std::string& s, int pattern) {
  std::string out = s;
  for (size_t i = 0; i < out.size(); ++i) {
    auto c = static_cast<unsigned char>(out[i]);
    bool up = pattern == 0 ? false : pattern == 1 ? true : (i % 2 == 0);
    out[i] = static_cast<char>(up ? std::toupper(c) : std::tolower(c));
  }
  return out;
}

std::string repeat(const std::string& s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

struct bad {
  std::string in;
  std::string words;
};

template <class Parse>
void expect_errors(Parse parse, const std::vector<bad>& cases) {
  for (const auto& c : cases) {
    SCOPED_TRACE(base::printable(c.in, 200));
    auto r = parse(c.in);
    ASSERT_FALSE(r) << show(*r);
    EXPECT_NE(r.error().words.find(c.words), std::string::npos) << r.error().words;
    EXPECT_LE(r.error().offset, c.in.size());
    // Words go into a BAD reply: 7-bit printable only (RFC 3501 TEXT-CHAR).
    for (char ch : r.error().words) EXPECT_TRUE(ch >= 0x20 && ch <= 0x7e) << r.error().words;
  }
}

}  // namespace

TEST(SortArgs, ValidForms) {
  for (const auto& v : valid_sorts) {
    expect_valid(parse_sort, v.in, v);
    expect_valid(parse_sort, v.in + "\r\n", v);
    expect_valid(parse_sort, v.in + "\n", v);
  }
}

TEST(SortArgs, KeywordsInAnyCase) {
  for (const auto& v : valid_sorts) {
    for (int pattern = 0; pattern < 3; ++pattern) {
      auto in = mixed_case(v.in, pattern);
      SCOPED_TRACE(base::printable(in, 200));
      auto r = parse_sort(in);
      ASSERT_TRUE(r) << r.error().words;
      EXPECT_EQ(base::to_upper(show(*r)), base::to_upper(v.want));
      EXPECT_EQ(r->criteria.size(), parse_sort(v.in)->criteria.size());
    }
  }
}

// Every prefix of a valid command either parses (it ends after a whole key) or fails with
// an offset inside what was given; none crashes.
TEST(SortArgs, PrefixesNeverCrash) {
  for (const auto& v : valid_sorts)
    for (size_t n = 0; n < v.in.size(); ++n) {
      auto r = parse_sort(v.in.substr(0, n));
      if (!r) {
        EXPECT_LE(r.error().offset, n);
      } else {
        EXPECT_FALSE(r->criteria.empty());
        EXPECT_FALSE(r->root.children.empty());
      }
    }
}

TEST(SortArgs, Errors) {
  const std::vector<bad> cases = {
      {"", "expected \"(\" to start the sort criteria (found nothing more)"},
      {"DATE UTF-8 ALL", "expected \"(\" to start the sort criteria (found \"DATE\")"},
      {"() UTF-8 ALL", "the sort criteria are empty (expected at least one, as in (DATE))"},
      {"((DATE)) UTF-8 ALL", "expected a sort criterion (found \"(DATE))\")"},
      {"(BOGUS) UTF-8 ALL",
       "unknown sort key \"BOGUS\" (expected ARRIVAL, CC, DATE, FROM, SIZE, SUBJECT, TO, "
       "DISPLAYFROM, DISPLAYTO or RELEVANCY)"},
      {"(DATE SENTDATE) UTF-8 ALL", "unknown sort key \"SENTDATE\""},
      {"(DATE\x7f) UTF-8 ALL", "expected SP or \")\" in the sort criteria (found \"\\x7f)\")"},
      {"(\"DATE\") UTF-8 ALL", "expected a sort criterion"},
      {"(REVERSE) UTF-8 ALL", "expected SP and a sort key after REVERSE (found \")\")"},
      {"(DATE REVERSE) UTF-8 ALL", "expected SP and a sort key after REVERSE (found \")\")"},
      {"(REVERSE  DATE) UTF-8 ALL", "expected a sort key after REVERSE (found SP)"},
      {"(REVERSE REVERSE DATE) UTF-8 ALL",
       "REVERSE must be followed by a sort key, not another REVERSE"},
      {"(REVERSE FOO) UTF-8 ALL", "unknown sort key \"FOO\""},
      {"(DATE  SUBJECT) UTF-8 ALL", "expected a sort criterion (found SP)"},
      {"( DATE) UTF-8 ALL", "expected a sort criterion (found SP)"},
      {"(DATE", "expected SP or \")\" in the sort criteria (found nothing more)"},
      {"(DATE)", "expected SP after the sort criteria (found nothing more)"},
      {"(DATE)UTF-8 ALL", "expected SP after the sort criteria (found \"UTF-8\")"},
      {"(DATE) ", "expected a charset name (found nothing more)"},
      {"(DATE) UTF-8", "expected SP after the charset (found nothing more)"},
      {"(DATE) UTF-8\r\n", "expected SP after the charset (found end of line)"},
      {"(DATE) UTF-8 ", "expected a search key (found nothing more)"},
      {"(DATE) (UTF-8) ALL", "expected a charset name (found \"(UTF-8)\")"},
      {"(DATE) \"UTF-8 ALL", "quoted string is missing its closing quote"},
      {"(DATE) {5}\r\nUTF", "literal is shorter than its announced 5 bytes"},
      {"(DATE) CHARSET UTF-8 ALL", "SORT takes the charset without the word CHARSET"},
      {"(DATE) RETURN (MIN) ALL", "RETURN must come right after SORT, before the sort criteria"},
      {"(DATE) UTF-8 BOGUS", "unknown search key \"BOGUS\""},
      {"(DATE) UTF-8 CHARSET x ALL",
       "CHARSET is not a search key: SORT takes the charset alone, after the sort criteria"},
      {"(DATE) UTF-8 ALL RETURN (MIN)",
       "RETURN must come right after SORT, before the sort criteria (RFC 5267)"},
      {"(DATE) UTF-8 ALL)", "expected end of command (found \")\")"},
      {"(DATE) UTF-8 ALL  SEEN", "expected a search key (found SP)"},
      {"(DATE) UTF-8 1:0", "expected a non-zero number or \"*\""},
      {"RETURN", "expected SP after RETURN"},
      {"RETURN (MIN) DATE UTF-8 ALL", "expected \"(\" to start the sort criteria (found \"DATE\")"},
      {"RETURN (MIN)(DATE) UTF-8 ALL", "expected SP after the RETURN options (found \"(DATE)\")"},
      {"RETURN MIN (DATE) UTF-8 ALL", "expected \"(\" to start the RETURN options"},
      {"RETURN (FOO) (DATE) UTF-8 ALL", "unknown RETURN option \"FOO\""},
      {"RETURN (PARTIAL 1:5 ALL) (DATE) UTF-8 ALL",
       "RETURN options PARTIAL and ALL cannot be combined"},
      {"RETURN (PARTIAL 1:5 PARTIAL 1:5) (DATE) UTF-8 ALL", "RETURN option PARTIAL given twice"},
      {"RETURN (PARTIAL -5:1) (DATE) UTF-8 ALL", "PARTIAL range \"-5:1\" mixes signs"},
      {"RETURN (PARTIAL 1:*) (DATE) UTF-8 ALL", "PARTIAL range \"1:*\" is not two numbers"},
      {"RETURN (RELEVANCY) (DATE) UTF-8 TEXT x", "RELEVANCY needs a FUZZY search key (RFC 6203)"},
      {"(RELEVANCY) UTF-8 TEXT x", "RELEVANCY needs a FUZZY search key (RFC 6203)"},
      {"(DATE REVERSE RELEVANCY) UTF-8 ALL", "RELEVANCY needs a FUZZY search key"},
      {"(DATE) UTF-8 RETURN (MIN) ALL", "RETURN must come right after SORT"},
  };
  expect_errors(parse_sort, cases);
}

TEST(SortArgs, ErrorOffsetsPointAtTheProblem) {
  auto r = parse_sort("(DATE REVERSE BOGUS) UTF-8 ALL");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().offset, 14u);
  r = parse_sort("(DATE) UTF-8 SEEN BOGUS");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().offset, 18u);
  r = parse_sort("(DATE) CHARSET UTF-8 ALL");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().offset, 7u);
}

TEST(SortArgs, CriteriaLimitAtTheBoundary) {
  std::string most = "(" + repeat("REVERSE DATE ", max_sort_criteria - 1) + "SIZE)";
  auto r = parse_sort(most + " UTF-8 ALL");
  ASSERT_TRUE(r) << r.error().words;
  EXPECT_EQ(r->criteria.size(), max_sort_criteria);
  EXPECT_TRUE(r->criteria.front().reverse);
  EXPECT_FALSE(r->criteria.back().reverse);
  r = parse_sort("(" + repeat("DATE ", max_sort_criteria) + "SIZE) UTF-8 ALL");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().words, "more than 16 sort criteria");
  // A hostile list stops at the limit, not at its end.
  r = parse_sort("(" + repeat("DATE ", 1000000) + "SIZE) UTF-8 ALL");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().words, "more than 16 sort criteria");
}

TEST(SortArgs, SearchLimitsAtTheBoundary) {
  auto r = parse_sort("(DATE) UTF-8 " + repeat("NOT ", max_search_depth) + "ALL");
  ASSERT_TRUE(r) << r.error().words;
  r = parse_sort("(DATE) UTF-8 " + repeat("FUZZY ", max_search_depth + 1) + "ALL");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().words, "search keys nested deeper than 64");
  std::string keys = "ALL";
  for (size_t i = 1; i < max_search_keys; ++i) keys += " ALL";
  r = parse_sort("(DATE) UTF-8 " + keys);
  ASSERT_TRUE(r) << r.error().words;
  EXPECT_EQ(r->root.children.size(), max_search_keys);
  r = parse_sort("(DATE) UTF-8 " + keys + " ALL");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().words, "more than 10000 search keys");
}

TEST(ThreadArgs, ValidForms) {
  for (const auto& v : valid_threads) {
    expect_valid(parse_thread, v.in, v);
    expect_valid(parse_thread, v.in + "\r\n", v);
    expect_valid(parse_thread, v.in + "\n", v);
  }
}

TEST(ThreadArgs, KeywordsInAnyCase) {
  for (const auto& v : valid_threads) {
    for (int pattern = 0; pattern < 3; ++pattern) {
      auto in = mixed_case(v.in, pattern);
      SCOPED_TRACE(base::printable(in, 200));
      auto r = parse_thread(in);
      ASSERT_TRUE(r) << r.error().words;
      EXPECT_EQ(base::to_upper(show(*r)), base::to_upper(v.want));
    }
  }
}

TEST(ThreadArgs, PrefixesNeverCrash) {
  for (const auto& v : valid_threads)
    for (size_t n = 0; n < v.in.size(); ++n) {
      auto r = parse_thread(v.in.substr(0, n));
      if (!r) {
        EXPECT_LE(r.error().offset, n);
      } else {
        EXPECT_FALSE(r->root.children.empty());
      }
    }
}

TEST(ThreadArgs, Errors) {
  const std::vector<bad> cases = {
      {"", "expected a threading algorithm (found nothing more)"},
      {"FOO UTF-8 ALL",
       "unknown threading algorithm \"FOO\" (expected ORDEREDSUBJECT, REFERENCES or REFS)"},
      {"REFERENCE UTF-8 ALL", "unknown threading algorithm \"REFERENCE\""},
      {"(REFERENCES) UTF-8 ALL", "expected a threading algorithm (found \"(REFERENCES)\")"},
      {"\"REFERENCES\" UTF-8 ALL", "expected a threading algorithm"},
      {"RETURN (ALL) REFERENCES UTF-8 ALL", "THREAD takes no RETURN options"},
      {"REFERENCES", "expected SP after the threading algorithm (found nothing more)"},
      {"REFERENCES  UTF-8 ALL", "expected a charset name (found SP)"},
      {"REFERENCES UTF-8", "expected SP after the charset (found nothing more)"},
      {"REFERENCES UTF-8 ", "expected a search key (found nothing more)"},
      {"REFERENCES CHARSET UTF-8 ALL", "THREAD takes the charset without the word CHARSET"},
      {"REFERENCES RETURN (ALL) ALL", "THREAD takes no RETURN options"},
      {"REFERENCES UTF-8 ALL CHARSET x",
       "CHARSET is not a search key: THREAD takes the charset alone, after the algorithm"},
      {"REFERENCES UTF-8 RETURN (ALL) ALL", "THREAD takes no RETURN options"},
      {"ORDEREDSUBJECT UTF-8 ALL  SEEN", "expected a search key (found SP)"},
      {"ORDEREDSUBJECT UTF-8 FUZZY", "expected SP after FUZZY"},
      {"ORDEREDSUBJECT UTF-8 ALL\r\nALL", "expected end of command"},
  };
  expect_errors(parse_thread, cases);
}

TEST(ThreadArgs, SearchLimitsAtTheBoundary) {
  auto r = parse_thread("REFS UTF-8 " + repeat("(", max_search_depth) + "ALL" +
                        repeat(")", max_search_depth));
  ASSERT_TRUE(r) << r.error().words;
  r = parse_thread("REFS UTF-8 " + repeat("(", max_search_depth + 1) + "ALL" +
                   repeat(")", max_search_depth + 1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().words, "search keys nested deeper than 64");
}

}  // namespace postern::proto::imap
