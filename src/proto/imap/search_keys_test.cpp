#include "proto/imap/search_keys.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/strings.hpp"

namespace postern::proto::imap {

namespace {

using kind = search_key::kind;

std::string show(const sequence_set& s) {
  if (s.saved_result) return "$";
  std::string out;
  auto num = [](uint32_t n) { return n == seq_star ? std::string("*") : std::to_string(n); };
  for (auto r : s.ranges) {
    if (!out.empty()) out += ',';
    out += num(r.first);
    if (r.last != r.first) out += ":" + num(r.last);
  }
  return out;
}

const char* name(kind k) {
  static const char* names[] = {
      "ALL",       "ANSWERED", "BCC",         "BEFORE",    "BODY",       "CC",
      "DELETED",   "DRAFT",    "FLAGGED",     "FROM",      "HEADER",     "KEYWORD",
      "LARGER",    "NEW",      "NOT",         "OLD",       "ON",         "OR",
      "RECENT",    "SEEN",     "SENTBEFORE",  "SENTON",    "SENTSINCE",  "SINCE",
      "SMALLER",   "SUBJECT",  "TEXT",        "TO",        "UID",        "UNANSWERED",
      "UNDELETED", "UNDRAFT",  "UNFLAGGED",   "UNKEYWORD", "UNSEEN",     "SEQ",
      "AND",       "MODSEQ",   "SAVEDBEFORE", "SAVEDON",   "SAVEDSINCE", "SAVEDATESUPPORTED",
      "EMAILID",   "THREADID", "OLDER",       "YOUNGER"};
  return names[static_cast<int>(k)];
}

// A key tree in prefix form: AND(SEEN,FROM[x]), BEFORE@<days>, UID{1:5}, LARGER#10; a key
// under FUZZY starts with "~".
std::string show(const search_key& k) {
  std::string out = std::string(k.fuzzy ? "~" : "") + name(k.what);
  switch (k.what) {
    case kind::bcc:
    case kind::body:
    case kind::cc:
    case kind::from:
    case kind::subject:
    case kind::text:
    case kind::to:
    case kind::keyword:
    case kind::unkeyword:
    case kind::emailid:
    case kind::threadid:
      return out + "[" + k.text + "]";
    case kind::header:
      return out + "[" + k.text + "][" + k.value + "]";
    case kind::before:
    case kind::on:
    case kind::since:
    case kind::sentbefore:
    case kind::senton:
    case kind::sentsince:
    case kind::savedbefore:
    case kind::savedon:
    case kind::savedsince:
      return out + "@" + std::to_string(k.date);
    case kind::larger:
    case kind::smaller:
    case kind::modseq:
    case kind::older:
    case kind::younger:
      return out + "#" + std::to_string(k.number);
    case kind::uid:
    case kind::sequence:
      return out + "{" + show(k.set) + "}";
    case kind::not_:
    case kind::or_:
    case kind::and_: {
      out += "(";
      for (size_t i = 0; i < k.children.size(); ++i) out += (i ? "," : "") + show(k.children[i]);
      return out + ")";
    }
    default:
      return out;
  }
}

std::string show(const search_request& r) {
  std::string out;
  if (r.has_return) {
    out += "RETURN(";
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
    out += " ) ";
  }
  if (!r.charset.empty()) out += "CHARSET[" + r.charset + "] ";
  return out + show(r.root);
}

struct good {
  std::string in;
  std::string want;
};

// 1994-02-01 is day 8797; 1970-01-01 is 0.
const std::vector<good> valid = {
    {"ALL", "AND(ALL)"},
    {"ANSWERED DELETED DRAFT FLAGGED NEW OLD RECENT SEEN",
     "AND(ANSWERED,DELETED,DRAFT,FLAGGED,NEW,OLD,RECENT,SEEN)"},
    {"UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN SAVEDATESUPPORTED",
     "AND(UNANSWERED,UNDELETED,UNDRAFT,UNFLAGGED,UNSEEN,SAVEDATESUPPORTED)"},
    {"BCC a CC b FROM c SUBJECT d TEXT e TO f BODY g",
     "AND(BCC[a],CC[b],FROM[c],SUBJECT[d],TEXT[e],TO[f],BODY[g])"},
    {"FROM \"Smith, John\" SUBJECT {5}\r\nhello", "AND(FROM[Smith, John],SUBJECT[hello])"},
    {"TEXT \"\" BODY {0}\r\n", "AND(TEXT[],BODY[])"},
    {"TEXT \"caf\xc3\xa9\"", "AND(TEXT[caf\xc3\xa9])"},
    {"SUBJECT a]b", "AND(SUBJECT[a]b])"},
    {"HEADER Message-ID \"<x@y>\"", "AND(HEADER[Message-ID][<x@y>])"},
    {"HEADER X-Empty \"\"", "AND(HEADER[X-Empty][])"},
    {"KEYWORD $Forwarded UNKEYWORD Junk", "AND(KEYWORD[$Forwarded],UNKEYWORD[Junk])"},
    {"LARGER 10 SMALLER 9223372036854775807", "AND(LARGER#10,SMALLER#9223372036854775807)"},
    {"BEFORE 1-Feb-1994", "AND(BEFORE@8797)"},
    {"ON 01-Feb-1994", "AND(ON@8797)"},
    {"SINCE \"1-Feb-1994\"", "AND(SINCE@8797)"},
    {"SENTBEFORE 1-Jan-1970 SENTON 31-Dec-1969 SENTSINCE 29-Feb-2000",
     "AND(SENTBEFORE@0,SENTON@-1,SENTSINCE@11016)"},
    {"SAVEDBEFORE 1-Mar-2024 SAVEDON 29-Feb-2024 SAVEDSINCE 01-Jan-2024",
     "AND(SAVEDBEFORE@19783,SAVEDON@19782,SAVEDSINCE@19723)"},
    {"SINCE 1-jan-0001 BEFORE 31-DEC-9999", "AND(SINCE@-719162,BEFORE@2932896)"},
    {"UID 1:5,7,*", "AND(UID{1:5,7,*})"},
    {"UID $", "AND(UID{$})"},
    {"1:5 2,* $", "AND(SEQ{1:5},SEQ{2,*},SEQ{$})"},
    {"NOT SEEN", "AND(NOT(SEEN))"},
    {"OR SEEN FLAGGED", "AND(OR(SEEN,FLAGGED))"},
    {"OR (SEEN FROM a) NOT (DELETED)", "AND(OR(AND(SEEN,FROM[a]),NOT(AND(DELETED))))"},
    {"(SEEN)", "AND(AND(SEEN))"},
    {"((1:* UNSEEN))", "AND(AND(AND(SEQ{1:*},UNSEEN)))"},
    {"NOT NOT OR 1 2 3", "AND(NOT(NOT(OR(SEQ{1},SEQ{2}))),SEQ{3})"},
    {"MODSEQ 0", "AND(MODSEQ#0)"},
    {"MODSEQ 620162338", "AND(MODSEQ#620162338)"},
    {"MODSEQ \"/flags/\\\\draft\" all 620162338", "AND(MODSEQ#620162338)"},
    {"MODSEQ \"/flags/$Junk\" priv 5", "AND(MODSEQ#5)"},
    {"MODSEQ {12}\r\n/flags/\\Seen shared 5", "AND(MODSEQ#5)"},
    {"EMAILID M6d99ac3275bb4e THREADID T64b478a75b7ea9",
     "AND(EMAILID[M6d99ac3275bb4e],THREADID[T64b478a75b7ea9])"},
    {"EMAILID a_b-C", "AND(EMAILID[a_b-C])"},
    {"OLDER 3600 YOUNGER 4294967295", "AND(OLDER#3600,YOUNGER#4294967295)"},
    {"CHARSET UTF-8 TEXT x", "CHARSET[UTF-8] AND(TEXT[x])"},
    {"CHARSET \"US-ASCII\" ALL", "CHARSET[US-ASCII] AND(ALL)"},
    {"RETURN (MIN MAX) ALL", "RETURN( MIN MAX ) AND(ALL)"},
    {"RETURN (ALL COUNT SAVE) ALL", "RETURN( ALL COUNT SAVE ) AND(ALL)"},
    {"RETURN () UNSEEN", "RETURN( ALL ) AND(UNSEEN)"},
    {"RETURN (SAVE) UNSEEN", "RETURN( SAVE ) AND(UNSEEN)"},
    {"RETURN (COUNT COUNT) UNSEEN", "RETURN( COUNT ) AND(UNSEEN)"},
    {"RETURN (MIN) CHARSET UTF-8 OR 1 UID 2",
     "RETURN( MIN ) CHARSET[UTF-8] AND(OR(SEQ{1},UID{2}))"},
    // RFC 5267 §4.4 and RFC 9394 §3.1: PARTIAL, either order, from the start or the end.
    {"RETURN (PARTIAL 1:100) ALL", "RETURN( PARTIAL 1:100 ) AND(ALL)"},
    {"RETURN (PARTIAL 500:400) ALL", "RETURN( PARTIAL 400:500 ) AND(ALL)"},
    {"RETURN (PARTIAL 7:7) ALL", "RETURN( PARTIAL 7:7 ) AND(ALL)"},
    {"RETURN (PARTIAL -1:-100) UNDELETED UNKEYWORD $Junk",
     "RETURN( PARTIAL -1:-100 ) AND(UNDELETED,UNKEYWORD[$Junk])"},
    {"RETURN (PARTIAL -100:-1) ALL", "RETURN( PARTIAL -1:-100 ) AND(ALL)"},
    {"RETURN (PARTIAL 4294967295:1) ALL", "RETURN( PARTIAL 1:4294967295 ) AND(ALL)"},
    {"RETURN (PARTIAL -4294967295:-4294967295) ALL",
     "RETURN( PARTIAL -4294967295:-4294967295 ) AND(ALL)"},
    {"RETURN (MIN PARTIAL 1:10 COUNT SAVE) ALL", "RETURN( MIN COUNT SAVE PARTIAL 1:10 ) AND(ALL)"},
    {"RETURN (PARTIAL 501:1000 MAX) CHARSET UTF-8 1:*",
     "RETURN( MAX PARTIAL 501:1000 ) CHARSET[UTF-8] AND(SEQ{1:*})"},
    // RFC 5267 §4.2: CONTEXT is a hint.
    {"RETURN (CONTEXT COUNT) UNDELETED", "RETURN( COUNT CONTEXT ) AND(UNDELETED)"},
    // RFC 5267 §4.3: UPDATE, alone or with others.
    {"RETURN (UPDATE) ALL", "RETURN( UPDATE ) AND(ALL)"},
    {"RETURN (update COUNT context) DELETED", "RETURN( COUNT CONTEXT UPDATE ) AND(DELETED)"},
    // RFC 6203 §3 to §5: FUZZY marks the key after it and all inside it.
    {"RETURN (RELEVANCY ALL) FUZZY TEXT \"Helo\"", "RETURN( ALL RELEVANCY ) AND(~TEXT[Helo])"},
    {"RETURN (RELEVANCY) NOT FUZZY SUBJECT x", "RETURN( RELEVANCY ) AND(NOT(~SUBJECT[x]))"},
    {"FUZZY (SUBJECT \"IMAP break\")", "AND(~AND(~SUBJECT[IMAP break]))"},
    {"FUZZY SUBJECT work FROM user@example.com", "AND(~SUBJECT[work],FROM[user@example.com])"},
    {"FUZZY (FROM \"Dave\" SINCE 21-Jan-2009 BEFORE 24-Jan-2009)",
     "AND(~AND(~FROM[Dave],~SINCE@14265,~BEFORE@14268))"},
    {"FUZZY (LARGER 900000 SMALLER 1100000)", "AND(~AND(~LARGER#900000,~SMALLER#1100000))"},
    {"SUBJECT \"xyz\" FUZZY ANSWERED", "AND(SUBJECT[xyz],~ANSWERED)"},
    {"FUZZY FUZZY NOT OR 1 SEEN", "AND(~NOT(~OR(~SEQ{1},~SEEN)))"},
    {"OR FUZZY FROM a TO b", "AND(OR(~FROM[a],TO[b]))"},
    {"FUZZY (BODY a FUZZY TEXT b) CC c", "AND(~AND(~BODY[a],~TEXT[b]),CC[c])"},
    {"FUZZY SUBJECT {5}\r\nhello", "AND(~SUBJECT[hello])"},
    {"FUZZY HEADER X-A b", "AND(~HEADER[X-A][b])"},
};

void expect_valid(const std::string& in, const std::string& want) {
  SCOPED_TRACE(base::printable(in, 200));
  auto r = parse_search(in);
  ASSERT_TRUE(r) << r.error().words;
  EXPECT_EQ(show(*r), want);
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

}  // namespace

TEST(SearchKeys, ValidForms) {
  for (const auto& v : valid) {
    expect_valid(v.in, v.want);
    expect_valid(v.in + "\r\n", v.want);
    expect_valid(v.in + "\n", v.want);
  }
}

TEST(SearchKeys, KeywordsInAnyCase) {
  for (const auto& v : valid) {
    for (int pattern = 0; pattern < 3; ++pattern) {
      auto in = mixed_case(v.in, pattern);
      SCOPED_TRACE(base::printable(in, 200));
      auto r = parse_search(in);
      ASSERT_TRUE(r) << r.error().words;
      EXPECT_EQ(base::to_upper(show(*r)), base::to_upper(v.want));
    }
  }
}

TEST(SearchKeys, PrefixesNeverCrash) {
  for (const auto& v : valid)
    for (size_t n = 0; n < v.in.size(); ++n) {
      auto r = parse_search(v.in.substr(0, n));
      if (!r) {
        EXPECT_LE(r.error().offset, n);
      }
    }
}

TEST(SearchKeys, Dates) {
  int64_t d = 0;
  struct dcase {
    std::string in;
    bool ok;
    int64_t days;
  };
  const std::vector<dcase> cases = {
      {"1-Jan-1970", true, 0},
      {"01-Jan-1970", true, 0},
      {"2-Jan-1970", true, 1},
      {"1-Feb-1994", true, 8797},
      {"28-Feb-1900", true, -25509},
      {"29-Feb-1900", false, 0},
      {"29-Feb-2000", true, 11016},
      {"29-Feb-2023", false, 0},
      {"29-Feb-2024", true, 19782},
      {"31-Apr-2024", false, 0},
      {"30-Apr-2024", true, 19843},
      {"31-Dec-2024", true, 20088},
      {"32-Jan-2024", false, 0},
      {"0-Jan-2024", false, 0},
      {"00-Jan-2024", false, 0},
      {"001-Jan-2024", false, 0},
      {"1-Jan-24", false, 0},
      {"1-Jan-02024", false, 0},
      {"1-January-2024", false, 0},
      {"1-Foo-2024", false, 0},
      {"1 Jan 2024", false, 0},
      {"1-Jan-2024 ", false, 0},
      {"", false, 0},
      {"-Jan-2024", false, 0},
      {"a-Jan-2024", false, 0},
      {"1-Jan-20x4", false, 0},
      {"1/Jan/2024", false, 0},
      {"1-jAN-2024", true, 19723},
      {"1-Jan-2024-", false, 0},
      {"1-Ja-n2024", false, 0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.in);
    EXPECT_EQ(parse_search_date(c.in, d), c.ok);
    if (c.ok) {
      EXPECT_EQ(d, c.days);
    }
  }
}

TEST(SearchKeys, Errors) {
  struct bad {
    std::string in;
    std::string words;
  };
  const std::vector<bad> cases = {
      {"", "expected a search key (found nothing more)"},
      {"\r\n", "expected a search key (found end of line)"},
      {" ALL", "expected a search key (found SP)"},
      {"ALL ", "expected a search key (found nothing more)"},
      {"ALL  SEEN", "expected a search key (found SP)"},
      {"FOO", "unknown search key \"FOO\""},
      {"SEEN FOO", "unknown search key \"FOO\""},
      {"ALL)", "expected end of command (found \")\")"},
      {"()", "expected a search key (found \")\")"},
      {"(SEEN", "expected SP or \")\" in the parenthesized search keys (found nothing more)"},
      {"(SEEN))", "expected end of command (found \")\")"},
      {"NOT", "expected SP after NOT (found nothing more)"},
      {"NOT ", "expected a search key (found nothing more)"},
      {"OR SEEN", "expected SP between the two keys of OR (found nothing more)"},
      {"OR SEEN ", "expected a search key"},
      {"FROM", "expected SP after FROM"},
      {"FROM ", "expected a string after FROM (found nothing more)"},
      {"FROM (a)", "expected a string after FROM (found \"(a)\")"},
      {"SUBJECT \"abc", "quoted string is missing its closing quote"},
      {"SUBJECT {5}\r\nab", "literal is shorter than its announced 5 bytes"},
      {"SUBJECT ~{1}\r\na", "a binary literal ~{n} is allowed only in APPEND"},
      {"HEADER", "expected SP after HEADER"},
      {"HEADER Subject", "expected SP after the HEADER field name"},
      {"HEADER Subject ", "expected a string after the HEADER field name"},
      {"KEYWORD", "expected SP after KEYWORD"},
      {"KEYWORD \\Seen", "expected a keyword after KEYWORD (found \"\\x5cSeen\")"},
      {"UNKEYWORD \"x\"", "expected a keyword after UNKEYWORD"},
      {"LARGER x", "expected a size after LARGER (found \"x\")"},
      {"LARGER -1", "expected a size after LARGER"},
      {"SMALLER 9223372036854775808", "is too large"},
      {"BEFORE", "expected SP after BEFORE"},
      {"BEFORE (x)", "expected a date like 1-Feb-1994 after BEFORE (found \"(x)\")"},
      {"BEFORE 30-Feb-2024",
       "invalid date \"30-Feb-2024\" after BEFORE (expected "
       "day-month-year, as in 1-Feb-1994)"},
      {"SINCE \"1-Feb-94\"", "invalid date \"1-Feb-94\" after SINCE"},
      {"ON 1-Feb-1994-", "invalid date \"1-Feb-1994-\" after ON"},
      {"SENTON 1-Foo-1994", "invalid date \"1-Foo-1994\" after SENTON"},
      {"SAVEDSINCE 2024-01-01", "invalid date \"2024-01-01\" after SAVEDSINCE"},
      {"SAVEDON", "expected SP after SAVEDON"},
      {"SAVEDBEFORE x", "invalid date \"x\" after SAVEDBEFORE"},
      {"UID", "expected SP after UID"},
      {"UID x", "expected a UID set after UID (found \"x\")"},
      {"UID 0", "expected a non-zero number or \"*\""},
      {"UID 1:", "expected a non-zero number or \"*\""},
      {"UID $,1", "\"$\" cannot be combined"},
      {"0", "expected a non-zero number or \"*\""},
      {"1:5x", "expected end of command (found \"x\")"},
      {"4294967296", "is too large"},
      {"MODSEQ", "expected SP after MODSEQ"},
      {"MODSEQ x", "expected a mod-sequence after MODSEQ (found \"x\")"},
      {"MODSEQ 9223372036854775808", "is too large"},
      {"MODSEQ \"/flags/\\\\Seen\" 5", "MODSEQ entry type \"5\" is not priv, shared or all"},
      {"MODSEQ \"/flags/\\\\Seen\" both 5",
       "MODSEQ entry type \"both\" is not priv, shared or all"},
      {"MODSEQ \"/flags/\\\\Seen\" all", "expected SP after the MODSEQ entry type"},
      {"MODSEQ \"/flags/\\\\Seen\"", "expected SP after the MODSEQ entry name"},
      {"MODSEQ \"/flags/\" all 5", "MODSEQ entry name \"/flags/\" is not \"/flags/\" and a flag"},
      {"MODSEQ \"/shared/x\" all 5", "MODSEQ entry name \"/shared/x\" is not"},
      {"EMAILID", "expected SP after EMAILID"},
      {"EMAILID \"abc\"", "expected an object id after EMAILID"},
      {"EMAILID a.b",
       "object id \"a.b\" after EMAILID is not 1 to 255 letters, digits, \"_\" or "
       "\"-\" (RFC 8474)"},
      {"THREADID " + std::string(256, 'a'), "after THREADID is not 1 to 255"},
      {"OLDER 0", "expected a non-zero number of seconds after OLDER (found \"0\")"},
      {"YOUNGER x", "expected a non-zero number of seconds after YOUNGER"},
      {"YOUNGER 4294967296", "is too large"},
      {"CHARSET", "expected SP after CHARSET"},
      {"CHARSET UTF-8", "expected SP after the charset (found nothing more)"},
      {"CHARSET (x) ALL", "expected a charset name"},
      {"CHARSET UTF-8 ", "expected a search key (found nothing more)"},
      {"RETURN", "expected SP after RETURN"},
      {"RETURN ALL", "expected \"(\" to start the RETURN options (found \"ALL\")"},
      {"RETURN (MIN", "expected SP or \")\" in the RETURN options"},
      {"RETURN (MIN) ", "expected a search key"},
      {"RETURN (MIN)", "expected SP after the RETURN options"},
      {"RETURN (FOO) ALL",
       "unknown RETURN option \"FOO\" (expected MIN, MAX, ALL, COUNT, SAVE, PARTIAL, "
       "RELEVANCY, CONTEXT or UPDATE)"},
      {"RETURN (PARTIAL) ALL", "expected SP after PARTIAL (found \")\")"},
      {"RETURN (PARTIAL ) ALL",
       "expected a range like 1:100 or -1:-100 after PARTIAL (found \")\")"},
      {"RETURN (PARTIAL", "expected SP after PARTIAL (found nothing more)"},
      {"RETURN (PARTIAL 5) ALL", "PARTIAL range \"5\" is not a range"},
      {"RETURN (PARTIAL 0:5) ALL",
       "PARTIAL range \"0:5\" has a zero or a leading zero: positions count from 1, or from "
       "-1 at the end (RFC 9394)"},
      {"RETURN (PARTIAL 1:0) ALL", "PARTIAL range \"1:0\" has a zero"},
      {"RETURN (PARTIAL 01:5) ALL", "PARTIAL range \"01:5\" has a zero or a leading zero"},
      {"RETURN (PARTIAL -0:-5) ALL", "PARTIAL range \"-0:-5\" has a zero"},
      {"RETURN (PARTIAL 1:*) ALL",
       "PARTIAL range \"1:*\" is not two numbers joined by \":\" (as in 1:100 or -1:-100; no "
       "\"*\", RFC 9394)"},
      {"RETURN (PARTIAL *:1) ALL", "PARTIAL range \"*:1\" is not two numbers"},
      {"RETURN (PARTIAL 1:2:3) ALL", "PARTIAL range \"1:2:3\" is not two numbers"},
      {"RETURN (PARTIAL 1:) ALL", "PARTIAL range \"1:\" is not two numbers"},
      {"RETURN (PARTIAL --1:-2) ALL", "PARTIAL range \"--1:-2\" is not two numbers"},
      {"RETURN (PARTIAL \"1:5\") ALL", "PARTIAL range \"\"1:5\"\" is not two numbers"},
      {"RETURN (PARTIAL 1,5) ALL", "PARTIAL range \"1,5\" is not a range"},
      {"RETURN (PARTIAL -1:5) ALL",
       "PARTIAL range \"-1:5\" mixes signs: both ends count from the first result (1:100) or "
       "both from the last (-1:-100) (RFC 9394)"},
      {"RETURN (PARTIAL 1:-5) ALL", "PARTIAL range \"1:-5\" mixes signs"},
      {"RETURN (PARTIAL 1:4294967296) ALL",
       "PARTIAL range \"1:4294967296\" is too large (at most 4294967295)"},
      {"RETURN (PARTIAL -99999999999999999999:-1) ALL", "is too large (at most 4294967295)"},
      {"RETURN (PARTIAL 1:5 ALL) ALL", "RETURN options PARTIAL and ALL cannot be combined"},
      {"RETURN (ALL PARTIAL 1:5) ALL", "RETURN options PARTIAL and ALL cannot be combined"},
      {"RETURN (PARTIAL 1:5 PARTIAL 6:9) ALL", "RETURN option PARTIAL given twice"},
      {"RETURN (PARTIAL 1:5", "expected SP or \")\" in the RETURN options (found nothing more)"},
      {"RETURN (PARTIAL 1:5)", "expected SP after the RETURN options"},
      {"RETURN (RELEVANCY) TEXT x", "RETURN (RELEVANCY) needs a FUZZY search key (RFC 6203)"},
      {"RETURN (RELEVANCY ALL) OR TEXT x FROM y", "RETURN (RELEVANCY) needs a FUZZY search key"},
      {"FUZZY", "expected SP after FUZZY (found nothing more)"},
      {"FUZZY ", "expected a search key (found nothing more)"},
      {"FUZZY  TEXT x", "expected a search key (found SP)"},
      {"FUZZY FOO", "unknown search key \"FOO\""},
      {"FUZZY)", "expected SP after FUZZY (found \")\")"},
      {"FUZZYSUBJECT x", "unknown search key \"FUZZYSUBJECT\""},
      {"FUZZY CHARSET UTF-8 ALL", "CHARSET must come before the search keys"},
      {"RETURN (MIN  MAX) ALL", "expected a RETURN option (found SP)"},
      {"CHARSET UTF-8 RETURN (MIN) ALL",
       "RETURN must come before the search keys and before CHARSET"},
      {"ALL CHARSET UTF-8", "CHARSET must come before the search keys"},
      {"ALL\r\nALL", "expected end of command"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(base::printable(c.in, 200));
    auto r = parse_search(c.in);
    ASSERT_FALSE(r) << show(*r);
    EXPECT_NE(r.error().words.find(c.words), std::string::npos) << r.error().words;
    EXPECT_LE(r.error().offset, c.in.size());
    // Words go into a BAD reply: 7-bit printable only (RFC 3501 TEXT-CHAR).
    for (char ch : r.error().words) EXPECT_TRUE(ch >= 0x20 && ch <= 0x7e) << r.error().words;
  }
}

TEST(SearchKeys, ErrorOffsetsPointAtTheProblem) {
  auto r = parse_search("SEEN OR FLAGGED BEFORE 31-Feb-2024");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().offset, 23u);
  r = parse_search("SEEN (NOT BOGUS)");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().offset, 10u);
}

TEST(SearchKeys, PartialErrorsPointAtTheRange) {
  auto r = parse_search("RETURN (MIN PARTIAL -1:5) ALL");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().offset, 20u);
  r = parse_search("RETURN (PARTIAL 1:5 ALL) ALL");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().offset, 20u);
}

TEST(SearchKeys, FuzzyMarksOnlyTheKeyAfterIt) {
  auto r = parse_search("FUZZY OR (SUBJECT a) NOT FROM b TEXT c");
  ASSERT_TRUE(r) << r.error().words;
  EXPECT_FALSE(r->root.fuzzy);
  ASSERT_EQ(r->root.children.size(), 2u);
  EXPECT_TRUE(has_fuzzy(r->root));
  EXPECT_TRUE(has_fuzzy(r->root.children[0]));
  EXPECT_FALSE(has_fuzzy(r->root.children[1]));
  EXPECT_EQ(show(r->root), "AND(~OR(~AND(~SUBJECT[a]),~NOT(~FROM[b])),TEXT[c])");
  r = parse_search("TEXT c");
  ASSERT_TRUE(r);
  EXPECT_FALSE(has_fuzzy(r->root));
}

TEST(SearchKeys, NestingLimitAtTheBoundary) {
  auto r = parse_search(repeat("NOT ", max_search_depth) + "ALL");
  ASSERT_TRUE(r) << r.error().words;
  r = parse_search(repeat("NOT ", max_search_depth + 1) + "ALL");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().words, "search keys nested deeper than 64");

  r = parse_search(repeat("(", max_search_depth) + "ALL" + repeat(")", max_search_depth));
  ASSERT_TRUE(r) << r.error().words;
  r = parse_search(repeat("(", max_search_depth + 1) + "ALL" + repeat(")", max_search_depth + 1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().words, "search keys nested deeper than 64");

  r = parse_search(repeat("OR ALL ", max_search_depth) + "ALL");
  ASSERT_TRUE(r) << r.error().words;
  r = parse_search(repeat("OR ALL ", max_search_depth + 1) + "ALL");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().words, "search keys nested deeper than 64");

  // FUZZY is a level too (RFC 6203 §7: "FUZZY" SP search-key).
  r = parse_search(repeat("FUZZY ", max_search_depth) + "ALL");
  ASSERT_TRUE(r) << r.error().words;
  EXPECT_EQ(show(r->root), "AND(~ALL)");
  r = parse_search(repeat("FUZZY ", max_search_depth + 1) + "ALL");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().words, "search keys nested deeper than 64");
  r = parse_search(repeat("FUZZY NOT ", max_search_depth / 2) + "ALL");
  ASSERT_TRUE(r) << r.error().words;
  r = parse_search(repeat("FUZZY NOT ", max_search_depth / 2) + "FUZZY ALL");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().words, "search keys nested deeper than 64");

  // A hostile depth fails fast, without exhausting the stack.
  r = parse_search(repeat("FUZZY ", 1000000) + "ALL");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().words, "search keys nested deeper than 64");
  r = parse_search(repeat("(", 1000000));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().words, "search keys nested deeper than 64");
}

TEST(SearchKeys, KeyCountLimitAtTheBoundary) {
  std::string keys = "ALL";
  for (size_t i = 1; i < max_search_keys; ++i) keys += " ALL";
  auto r = parse_search(keys);
  ASSERT_TRUE(r) << r.error().words;
  EXPECT_EQ(r->root.children.size(), max_search_keys);
  r = parse_search(keys + " ALL");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().words, "more than 10000 search keys");
  // Keys inside NOT, OR and lists count too.
  std::string nested = "NOT ALL";
  for (size_t i = 2; i < max_search_keys; i += 2) nested += " NOT ALL";
  r = parse_search(nested);
  ASSERT_TRUE(r) << r.error().words;
  r = parse_search(nested + " ALL");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().words, "more than 10000 search keys");
  // So does FUZZY, though it adds no node.
  std::string fuzzy = "FUZZY ALL";
  for (size_t i = 2; i < max_search_keys; i += 2) fuzzy += " FUZZY ALL";
  r = parse_search(fuzzy);
  ASSERT_TRUE(r) << r.error().words;
  EXPECT_EQ(r->root.children.size(), max_search_keys / 2);
  r = parse_search(fuzzy + " ALL");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().words, "more than 10000 search keys");
}

}  // namespace postern::proto::imap
