#include "proto/imap/store_args.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/strings.hpp"

namespace postern::proto::imap {

namespace {

std::string show(const store_request& r) {
  std::string out;
  if (r.set.saved_result) out = "$";
  for (auto x : r.set.ranges) {
    if (!out.empty()) out += ',';
    out += x.first == seq_star ? "*" : std::to_string(x.first);
    if (x.last != x.first) out += ":" + (x.last == seq_star ? "*" : std::to_string(x.last));
  }
  if (r.unchanged_since) out += " unchangedsince=" + std::to_string(*r.unchanged_since);
  out += r.how == store_request::op::add      ? " add"
         : r.how == store_request::op::remove ? " remove"
                                              : " replace";
  if (r.silent) out += " silent";
  out += " [";
  for (size_t i = 0; i < r.flags.size(); ++i) out += (i ? " " : "") + r.flags[i];
  return out + "]";
}

struct good {
  std::string in;
  std::string want;
};

const std::vector<good> valid = {
    {"1 FLAGS (\\Seen)", "1 replace [\\Seen]"},
    {"1:* +FLAGS (\\Deleted)", "1:* add [\\Deleted]"},
    {"2,4 -FLAGS (\\Flagged \\Draft)", "2,4 remove [\\Flagged \\Draft]"},
    {"1 FLAGS.SILENT (\\Answered)", "1 replace silent [\\Answered]"},
    {"1 +FLAGS.SILENT ($Forwarded Junk)", "1 add silent [$Forwarded Junk]"},
    {"1 -FLAGS.SILENT \\Seen", "1 remove silent [\\Seen]"},
    {"1 FLAGS \\Seen \\Deleted $MDNSent", "1 replace [\\Seen \\Deleted $MDNSent]"},
    {"1 FLAGS ()", "1 replace []"},
    {"$ +FLAGS (\\Seen)", "$ add [\\Seen]"},
    {"6,4,8 (UNCHANGEDSINCE 12121230045) +FLAGS.SILENT (\\Deleted)",
     "6,4,8 unchangedsince=12121230045 add silent [\\Deleted]"},
    {"1 (UNCHANGEDSINCE 0) FLAGS ()", "1 unchangedsince=0 replace []"},
    {"1 FLAGS (\\seen \\DELETED \\answered \\flagged \\draft)",
     "1 replace [\\Seen \\Deleted \\Answered \\Flagged \\Draft]"},
    {"1 FLAGS (\\Seen \\Seen)", "1 replace [\\Seen \\Seen]"},
    {"1 FLAGS (a[b x.y-z_1 $Label1)", "1 replace [a[b x.y-z_1 $Label1]"},
};

std::string mixed_case(const std::string& s, int pattern) {
  std::string out = s;
  for (size_t i = 0; i < out.size(); ++i) {
    auto c = static_cast<unsigned char>(out[i]);
    bool up = pattern == 0 ? false : pattern == 1 ? true : (i % 2 == 0);
    out[i] = static_cast<char>(up ? std::toupper(c) : std::tolower(c));
  }
  return out;
}

}  // namespace

TEST(StoreArgs, ValidForms) {
  for (const auto& v : valid) {
    for (std::string end : {"", "\r\n", "\n"}) {
      SCOPED_TRACE(base::printable(v.in + end, 200));
      auto r = parse_store(v.in + end);
      ASSERT_TRUE(r) << r.error().words;
      EXPECT_EQ(show(*r), v.want);
    }
  }
}

TEST(StoreArgs, KeywordsInAnyCase) {
  for (const auto& v : valid) {
    for (int pattern = 0; pattern < 3; ++pattern) {
      auto in = mixed_case(v.in, pattern);
      SCOPED_TRACE(in);
      auto r = parse_store(in);
      ASSERT_TRUE(r) << r.error().words;
      EXPECT_EQ(base::to_upper(show(*r)), base::to_upper(v.want));
      // System flags come back canonical whatever the case.
      for (const auto& f : r->flags)
        if (f.starts_with('\\')) {
          EXPECT_TRUE(f == "\\Seen" || f == "\\Deleted" || f == "\\Answered" || f == "\\Flagged" ||
                      f == "\\Draft")
              << f;
        }
    }
  }
}

TEST(StoreArgs, PrefixesNeverCrash) {
  for (const auto& v : valid)
    for (size_t n = 0; n < v.in.size(); ++n) {
      auto r = parse_store(v.in.substr(0, n));
      if (!r) {
        EXPECT_LE(r.error().offset, n);
      }
    }
}

TEST(StoreArgs, Errors) {
  struct bad {
    std::string in;
    std::string words;
  };
  const std::vector<bad> cases = {
      {"", "expected a sequence set (found nothing more)"},
      {"FLAGS (\\Seen)", "expected a sequence set (found \"FLAGS\")"},
      {"1", "expected SP after the sequence set"},
      {"1 ", "expected FLAGS, +FLAGS or -FLAGS (found nothing more)"},
      {"1 FLAG (\\Seen)",
       "unknown STORE item \"FLAG\" (expected FLAGS, +FLAGS or -FLAGS, "
       "optionally with .SILENT)"},
      {"1 *FLAGS (\\Seen)", "expected FLAGS, +FLAGS or -FLAGS (found \"*FLAGS\")"},
      {"1 +-FLAGS (\\Seen)", "unknown STORE item \"+-FLAGS\""},
      {"1 FLAGS.LOUD (\\Seen)", "unknown STORE item \"FLAGS.LOUD\""},
      {"1 FLAGS", "expected SP after FLAGS (found nothing more)"},
      {"1 +flags.silent", "expected SP after +FLAGS.SILENT"},
      {"1 FLAGS ", "expected a flag (found nothing more)"},
      {"1 FLAGS (\\Seen", "expected SP or \")\" in the flag list (found nothing more)"},
      {"1 FLAGS (\\Seen  \\Draft)", "expected a flag (found SP)"},
      {"1 FLAGS (\\Seen))", "expected end of command (found \")\")"},
      {"1 FLAGS \\Seen ", "expected a flag (found nothing more)"},
      {"1 FLAGS \\Seen (\\Draft)", "expected a flag (found \"(\\x5cDraft)\")"},
      {"1 FLAGS (\\Recent)", "\\Recent cannot be set by a client"},
      {"1 FLAGS \\recent", "\\Recent cannot be set by a client"},
      {"1 FLAGS (\\Junk)",
       "unknown system flag \\Junk (only \\Answered, \\Flagged, "
       "\\Deleted, \\Seen and \\Draft)"},
      {"1 FLAGS (\\*)", "expected a flag name after \"\\\" (found \"*)\")"},
      {"1 FLAGS (\\)", "expected a flag name after \"\\\""},
      {"1 FLAGS (\"Seen\")", "expected a flag (found \"\"Seen\")\")"},
      {"1 FLAGS ({4}\r\nSeen)", "expected a flag"},
      {"1 FLAGS (a]b)", "expected SP or \")\" in the flag list (found \"]b)\")"},
      {"1 FLAGS (a%b)", "expected SP or \")\" in the flag list (found \"%b)\")"},
      {"1 FLAGS (\xc3\xa9)", "expected a flag"},
      {"1 (UNCHANGEDSINCE 5)", "expected SP after the STORE modifiers"},
      {"1 (UNCHANGEDSINCE 5) ", "expected FLAGS, +FLAGS or -FLAGS"},
      {"1 () FLAGS ()", "expected a STORE modifier (found \")"},
      {"1 (CHANGEDSINCE 5) FLAGS ()", "unknown STORE modifier \"CHANGEDSINCE\""},
      {"1 (UNCHANGEDSINCE) FLAGS ()", "expected SP after UNCHANGEDSINCE"},
      {"1 (UNCHANGEDSINCE x) FLAGS ()", "expected a mod-sequence after UNCHANGEDSINCE"},
      {"1 (UNCHANGEDSINCE 9223372036854775808) FLAGS ()", "is too large"},
      {"1 (UNCHANGEDSINCE 1 UNCHANGEDSINCE 2) FLAGS ()", "UNCHANGEDSINCE given twice"},
      {"1 (UNCHANGEDSINCE 1 FLAGS ()", "unknown STORE modifier \"FLAGS\""},
      {"1 (UNCHANGEDSINCE 1", "expected SP or \")\" in the STORE modifiers"},
      {"1 FLAGS (\\Seen)\r\nx", "expected end of command"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(base::printable(c.in, 200));
    auto r = parse_store(c.in);
    ASSERT_FALSE(r) << show(*r);
    EXPECT_NE(r.error().words.find(c.words), std::string::npos) << r.error().words;
    EXPECT_LE(r.error().offset, c.in.size());
    // Words go into a BAD reply: 7-bit printable only (RFC 3501 TEXT-CHAR).
    for (char ch : r.error().words) EXPECT_TRUE(ch >= 0x20 && ch <= 0x7e) << r.error().words;
  }
}

TEST(StoreArgs, ReadFlagListForAppend) {
  // APPEND mailbox [SP flag-list] [SP date-time] SP literal: the cursor stops after ")".
  std::string cmd = "(\\Seen $Work) \"05-Jan-2024 10:00:00 +0000\" {3}\r\nabc";
  cursor c(cmd);
  auto f = read_flag_list(c);
  ASSERT_TRUE(f) << f.error().words;
  EXPECT_EQ(*f, (std::vector<std::string>{"\\Seen", "$Work"}));
  EXPECT_EQ(c.offset(), 13u);

  cursor e("()");
  auto empty = read_flag_list(e);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  EXPECT_TRUE(e.at_end());

  // A failure leaves the cursor where it was.
  for (std::string in : {"(\\Seen \\Recent)", "(\\Seen", "\\Seen", "(\\Seen x y(", "(\\Bogus)"}) {
    cursor b(in);
    auto r = read_flag_list(b);
    ASSERT_FALSE(r) << in;
    EXPECT_EQ(b.offset(), 0u) << in;
  }
  for (std::string in : {"\\Recent", "\\Bogus", "\\", "(", ""}) {
    cursor b(in);
    auto r = read_flag(b);
    ASSERT_FALSE(r) << in;
    EXPECT_EQ(b.offset(), 0u) << in;
  }
  cursor k("$Label1 rest");
  auto kw = read_flag(k);
  ASSERT_TRUE(kw);
  EXPECT_EQ(*kw, "$Label1");
  EXPECT_EQ(k.offset(), 7u);
}

TEST(StoreArgs, LimitsAtTheBoundary) {
  auto flags = [](size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += (i ? " k" : "k") + std::to_string(i);
    return s;
  };
  auto r = parse_store("1 FLAGS (" + flags(max_store_flags) + ")");
  ASSERT_TRUE(r) << r.error().words;
  EXPECT_EQ(r->flags.size(), max_store_flags);
  r = parse_store("1 FLAGS (" + flags(max_store_flags + 1) + ")");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().words, "more than 1000 flags");
  r = parse_store("1 FLAGS " + flags(max_store_flags));
  ASSERT_TRUE(r) << r.error().words;
  r = parse_store("1 FLAGS " + flags(max_store_flags + 1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().words, "more than 1000 flags");
}

}  // namespace postern::proto::imap
