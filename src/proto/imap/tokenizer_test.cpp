#include "proto/imap/tokenizer.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "base/strings.hpp"
#include "proto/imap/command_framer.hpp"

namespace postern::proto::imap {

namespace {

using namespace std::string_literals;

// Renders a read's value so one table type serves every reader.
std::string show(std::string_view v) { return std::string(v); }
std::string show(const std::string& v) { return v; }
std::string show(uint64_t v) { return std::to_string(v); }
std::string show(uint32_t v) { return std::to_string(v); }
std::string show(const std::optional<std::string>& v) { return v ? "[" + *v + "]" : "NIL"; }
std::string show(std::monostate) { return "ok"; }
std::string show(const literal& l) {
  return (l.binary ? "~" : "") + std::string(l.non_sync ? "+" : "") + "[" + std::string(l.bytes) +
         "]";
}
std::string show(const sequence_set& s) {
  if (s.saved_result) return "$";
  std::string out;
  auto num = [](uint32_t n) { return n == seq_star ? "*"s : std::to_string(n); };
  for (auto r : s.ranges) {
    if (!out.empty()) out += ',';
    out += num(r.first);
    if (r.last != r.first) out += ":" + num(r.last);
  }
  return out;
}

struct tcase {
  std::string in;
  bool ok;
  std::string want;     // the value shown, or a piece of the error message
  size_t consumed = 0;  // bytes read on success (a failed read consumes none)
};

template <class T>
void run_table(const char* reader, const std::function<read_result<T>(cursor&)>& read,
               const std::vector<tcase>& cases) {
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(reader) + " on \"" + c.in + "\"");
    cursor cur(c.in);
    auto r = read(cur);
    if (c.ok) {
      ASSERT_TRUE(r) << r.error().words;
      EXPECT_EQ(show(*r), c.want);
      EXPECT_EQ(cur.offset(), c.consumed);
    } else {
      ASSERT_FALSE(r) << show(*r);
      EXPECT_NE(r.error().words.find(c.want), std::string::npos) << r.error().words;
      EXPECT_EQ(cur.offset(), 0u);
    }
  }
}

}  // namespace

TEST(ImapTokenizer, TagAndAtom) {
  run_table<std::string_view>("tag", [](cursor& c) { return c.read_tag(); },
                              {
                                  {"a1 NOOP", true, "a1", 2},
                                  {"A]0.1 NOOP", true, "A]0.1", 5},
                                  {"x+1 NOOP", true, "x", 1},
                                  {"+ NOOP", false, "expected a tag (found \"+\")"},
                                  {" NOOP", false, "expected a tag (found SP)"},
                                  {"(a", false, "expected a tag"},
                                  {"\r\n", false, "(found end of line)"},
                                  {"", false, "(found nothing more)"},
                                  {"\x80x", false, "(found \"\\x80x\")"},
                              });
  run_table<std::string_view>("atom", [](cursor& c) { return c.read_atom(); },
                              {
                                  {"NOOP\r\n", true, "NOOP", 4},
                                  {"BODY[TEXT]", true, "BODY[TEXT", 9},
                                  {"\\Seen)", false, "expected an atom"},
                                  {"x{3}", true, "x", 1},
                                  {"%", false, "expected an atom (found \"%\")"},
                                  {"*", false, "expected an atom"},
                                  {"\x7f", false, "(found \"\\x7f\")"},
                                  {"\"q\"", false, "expected an atom"},
                              });
}

TEST(ImapTokenizer, Numbers) {
  run_table<uint32_t>("number", [](cursor& c) { return c.read_number(); },
                      {
                          {"0 ", true, "0", 1},
                          {"007", true, "7", 3},
                          {"4294967295)", true, "4294967295", 10},
                          {"4294967296", false, "\"4294967296\" is too large (at most 4294967295)"},
                          {"99999999999999999999999", false, "is too large"},
                          {"x", false, "expected a number (found \"x\")"},
                          {"-1", false, "expected a number"},
                          {"", false, "expected a number (found nothing more)"},
                      });
  run_table<uint32_t>("nz-number", [](cursor& c) { return c.read_nz_number(); },
                      {
                          {"1:", true, "1", 1},
                          {"4294967295", true, "4294967295", 10},
                          {"0", false, "expected a non-zero number (found \"0\")"},
                          {"01", false, "expected a non-zero number"},
                          {"4294967296", false, "too large"},
                      });
  run_table<uint64_t>("number64", [](cursor& c) { return c.read_number64("a mod-sequence"); },
                      {
                          {"9223372036854775807", true, "9223372036854775807", 19},
                          {"18446744073709551615", false, "at most 9223372036854775807"},
                          {"9223372036854775808", false, "too large"},
                          {"()", false, "expected a mod-sequence (found \"()\")"},
                      });
}

TEST(ImapTokenizer, QuotedStrings) {
  run_table<std::string>(
      "quoted", [](cursor& c) { return c.read_quoted(); },
      {
          {"\"\"", true, "", 2},
          {"\"hello world\" x", true, "hello world", 13},
          {"\"a\\\"b\\\\c\"", true, "a\"b\\c", 9},
          {"\"{5}\"\r\n", true, "{5}", 5},
          {"\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7\"", true,
           "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7", 16},
          {"\"tab\tok\"", true, "tab\tok", 8},
          {"\"a\r\nb\"", false, "quoted string contains a line break"},
          {"\"a\rb\"", false, "quoted string contains a line break"},
          {"\"a\nb\"\r\n", false, "quoted string contains a line break"},
          {"\"abc\r\n", false, "quoted string is missing its closing quote"},
          {"\"abc", false, "missing its closing quote"},
          {"\"abc\\", false, "missing its closing quote"},
          {"\"a\0b\""s, false, "quoted string contains a NUL byte"},
          {"\"\\n\"", false, "unknown escape \\n (only \\\" and \\\\ are allowed)"},
          {"\"\xc3\"", false, "quoted string is not valid UTF-8"},
          {"\"\xc0\xaf\"", false, "not valid UTF-8"},          // overlong "/"
          {"\"\xed\xa0\x80\"", false, "not valid UTF-8"},      // surrogate
          {"\"\xf4\x90\x80\x80\"", false, "not valid UTF-8"},  // above U+10FFFF
          {"\"\xff\"", false, "not valid UTF-8"},
          {"abc", false, "expected a quoted string (found \"abc\")"},
      });
}

TEST(ImapTokenizer, Literals) {
  run_table<literal>("literal", [](cursor& c) { return c.read_literal(); },
                     {
                         {"{3}\r\nabc\r\n", true, "[abc]", 8},
                         {"{0}\r\n\r\n", true, "[]", 5},
                         {"{3}\nabc", true, "[abc]", 7},
                         {"{4+}\r\na\r\nb", true, "+[a\r\nb]", 10},
                         {"{5}\r\n{3}\r\n\r\n", true, "[{3}\r\n]", 10},
                         {"~{2}\r\n\0\1"s, true, "~[\0\1]"s, 8},
                         {"~{2+}\r\n\0\0"s, true, "~+[\0\0]"s, 9},
                         {"{2}\r\n\0a"s, false, "literal contains a NUL byte"},
                         {"{4}\r\nabc", false, "literal is shorter than its announced 4 bytes"},
                         {"{3} \r\nabc", false, "expected CRLF after the literal size (found SP)"},
                         {"{3}\rabc", false, "expected CRLF after the literal size"},
                         {"{}\r\n", false, "expected a literal size after \"{\" (found \"}\")"},
                         {"{x}\r\n", false, "expected a literal size"},
                         {"{3\r\n", false, "expected \"}\" to close the literal size"},
                         {"{3-}\r\n", false, "expected \"}\""},
                         {"{9223372036854775808}\r\n", false, "too large"},
                         {"~3", false, "expected a literal"},
                         {"abc", false, "expected a literal (found \"abc\")"},
                     });
}

TEST(ImapTokenizer, StringsAstringsNstrings) {
  run_table<std::string>("string", [](cursor& c) { return c.read_string("a mailbox name"); },
                         {
                             {"\"INBOX\"", true, "INBOX", 7},
                             {"{5}\r\nINBOX", true, "INBOX", 10},
                             {"~{5}\r\nINBOX", false, "allowed only in APPEND"},
                             {"INBOX", false, "expected a mailbox name (found \"INBOX\")"},
                         });
  run_table<std::string>("astring", [](cursor& c) { return c.read_astring(); },
                         {
                             {"joe@example.com secret", true, "joe@example.com", 15},
                             {"a]b c", true, "a]b", 3},
                             {"\"joe smith\" x", true, "joe smith", 11},
                             {"{3}\r\njoe x", true, "joe", 8},
                             {"(", false, "expected an atom or a string (found \"(\")"},
                             {"\"open", false, "missing its closing quote"},
                             {"", false, "expected an atom or a string"},
                         });
  run_table<std::optional<std::string>>("nstring", [](cursor& c) { return c.read_nstring(); },
                                        {
                                            {"NIL)", true, "NIL", 3},
                                            {"nil ", true, "NIL", 3},
                                            {"\"NIL\"", true, "[NIL]", 5},
                                            {"{1}\r\nx", true, "[x]", 6},
                                            {"NILS", false, "expected a string or NIL"},
                                            {"x", false, "expected a string or NIL"},
                                        });
}

TEST(ImapTokenizer, SequenceSets) {
  run_table<sequence_set>("sequence-set", [](cursor& c) { return c.read_sequence_set(); },
                          {
                              {"1 ", true, "1", 1},
                              {"*", true, "*", 1},
                              {"1:*", true, "1:*", 3},
                              {"5:2", true, "5:2", 3},
                              {"*:4", true, "*:4", 3},
                              {"1,3:5,7,9:*\r\n", true, "1,3:5,7,9:*", 11},
                              {"4294967295", true, "4294967295", 10},
                              {"$ ", true, "$", 1},
                              {"0", false, "expected a non-zero number or \"*\" in a sequence set"},
                              {"1:0", false, "expected a non-zero number or \"*\""},
                              {"1,", false, "(found nothing more)"},
                              {"1,,2", false, "(found \",2\")"},
                              {"1:", false, "expected a non-zero number"},
                              {"4294967296", false, "too large"},
                              {"$,1", false, "\"$\" cannot be combined"},
                              {"1,$", false, "\"$\" cannot be combined"},
                              {"$:3", false, "\"$\" cannot be combined"},
                              {"ALL", false, "expected a sequence set (found \"ALL\")"},
                              {"", false, "expected a sequence set"},
                          });
}

TEST(ImapTokenizer, NormalizedSequenceSets) {
  auto set_of = [](std::string_view text) {
    cursor c(text);
    return *c.read_sequence_set();
  };
  using v = std::vector<seq_range>;
  EXPECT_EQ(normalize(set_of("5:2,*,9"), 12), (v{{2, 5}, {9, 9}, {12, 12}}));
  EXPECT_EQ(normalize(set_of("1:3,4,6:*,7"), 10), (v{{1, 4}, {6, 10}}));
  EXPECT_EQ(normalize(set_of("*:4"), 2), (v{{2, 4}}));
  EXPECT_EQ(normalize(set_of("4294967295,4294967294"), 1), (v{{4294967294u, 4294967295u}}));
  EXPECT_TRUE(normalize(set_of("$"), 5).empty());
}

TEST(ImapTokenizer, PunctuationAndEnd) {
  run_table<std::monostate>("SP", [](cursor& c) { return c.expect_sp("after tag"); },
                            {
                                {" x", true, "ok", 1},
                                {"x", false, "expected SP after tag (found \"x\")"},
                                {"\r\n", false, "expected SP after tag (found end of line)"},
                                {"\t", false, "expected SP after tag (found \"\\x09\")"},
                            });
  run_table<std::monostate>("(", [](cursor& c) { return c.expect_open("before flags"); },
                            {
                                {"(\\Seen)", true, "ok", 1},
                                {"\\Seen", false, "expected \"(\" before flags"},
                            });
  run_table<std::monostate>(")", [](cursor& c) { return c.expect_close(); },
                            {
                                {")", true, "ok", 1},
                                {" )", false, "expected \")\" (found SP)"},
                            });
  run_table<std::monostate>("end", [](cursor& c) { return c.expect_end(); },
                            {
                                {"\r\n", true, "ok", 2},
                                {"\n", true, "ok", 1},
                                {"", false, "expected CRLF at the end of the command"},
                                {"\r", false, "expected end of command"},
                                {" \r\n", false, "expected end of command (found SP)"},
                                {"\r\nx", false, "expected end of command (found end of line)"},
                                {"x\r\n", false, "(found \"x\")"},
                            });
}

TEST(ImapTokenizer, Utf8Validation) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("plain"));
  EXPECT_TRUE(
      valid_utf8("\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xef\xbf\xbf \xf0\x90\x80\x80 \xf4\x8f\xbf\xbf"));
  for (const char* bad : {"\x80", "\xc1\xbf", "\xe0\x9f\xbf", "\xed\xbf\xbf", "\xf0\x8f\xbf\xbf",
                          "\xf5\x80\x80\x80", "\xe2\x82", "\xf0\x9f\x93"})
    EXPECT_FALSE(valid_utf8(bad)) << base::printable(bad);
}

namespace {

// Two small command parsers built from the blocks, as proto/imap/commands/ will be:
// they return base::parsed<Args>, the command table's type, straight from the reads.
struct login_args {
  std::string tag, user, password;
};

base::parsed<login_args> parse_login(std::string_view command) {
  cursor c(command);
  login_args a;
  auto tag = c.read_tag();
  if (!tag) return tag.error();
  a.tag = *tag;
  if (auto sp = c.expect_sp("after tag"); !sp) return sp.error();
  auto verb = c.read_atom("a command name");
  if (!verb) return verb.error();
  if (auto sp = c.expect_sp("after LOGIN"); !sp) return sp.error();
  auto user = c.read_astring("a user name");
  if (!user) return user.error();
  a.user = std::move(*user);
  if (auto sp = c.expect_sp("after the user name"); !sp) return sp.error();
  auto password = c.read_astring("a password");
  if (!password) return password.error();
  a.password = std::move(*password);
  if (auto end = c.expect_end(); !end) return end.error();
  return a;
}

struct store_args {
  sequence_set set;
  std::vector<std::string> flags;
};

// tag SP "UID STORE" SP sequence-set SP "+FLAGS" SP "(" [flag *(SP flag)] ")" CRLF, with
// flags as "\" atom or atom.
base::parsed<store_args> parse_uid_store(std::string_view command) {
  cursor c(command);
  store_args a;
  if (auto t = c.read_tag(); !t) return t.error();
  if (auto sp = c.expect_sp("after tag"); !sp) return sp.error();
  for (const char* where : {"after UID", "after STORE"}) {
    if (auto v = c.read_atom(); !v) return v.error();
    if (auto sp = c.expect_sp(where); !sp) return sp.error();
  }
  auto set = c.read_sequence_set();
  if (!set) return set.error();
  a.set = std::move(*set);
  if (auto sp = c.expect_sp("after the sequence set"); !sp) return sp.error();
  if (auto item = c.read_atom("a store item"); !item) return item.error();
  if (auto sp = c.expect_sp("after the store item"); !sp) return sp.error();
  if (auto open = c.expect_open("before the flag list"); !open) return open.error();
  while (!c.skip(')')) {
    if (!a.flags.empty())
      if (auto sp = c.expect_sp("between flags"); !sp) return sp.error();
    bool system = c.skip('\\');
    auto flag = c.read_atom("a flag");
    if (!flag) return flag.error();
    a.flags.push_back((system ? "\\" : "") + std::string(*flag));
  }
  if (auto end = c.expect_end(); !end) return end.error();
  return a;
}

// The words of a failed parse, "" when it succeeded.
template <class T>
std::string words_of(const base::parsed<T>& p) {
  auto* f = std::get_if<base::parse_failure>(&p);
  return f ? f->words : "";
}

const std::vector<std::string>& valid_logins() {
  static const std::vector<std::string> v = {
      "a1 LOGIN joe secret\r\n",
      "a1 LOGIN \"joe smith\" \"pa\\\"ss\"\r\n",
      "a1 LOGIN {3}\r\njoe {7}\r\nse\r\ncr\n\r\n",
      "a1 LOGIN {3+}\r\njoe \"{5}\"\n",
  };
  return v;
}

}  // namespace

TEST(ImapTokenizer, LoginCommand) {
  auto a = parse_login(valid_logins()[1]);
  ASSERT_EQ(words_of(a), "");
  EXPECT_EQ(std::get<login_args>(a).user, "joe smith");
  EXPECT_EQ(std::get<login_args>(a).password, "pa\"ss");
  auto lit = parse_login(valid_logins()[2]);
  ASSERT_EQ(words_of(lit), "");
  EXPECT_EQ(std::get<login_args>(lit).user, "joe");
  EXPECT_EQ(std::get<login_args>(lit).password, "se\r\ncr\n");
  EXPECT_EQ(words_of(parse_login("a1  LOGIN joe x\r\n")), "expected a command name (found SP)");
  EXPECT_EQ(words_of(parse_login("a1 LOGIN joe\r\n")),
            "expected SP after the user name (found end of line)");
  EXPECT_EQ(words_of(parse_login("a1 LOGIN joe \"x\r\n")),
            "quoted string is missing its closing quote");
  EXPECT_EQ(words_of(parse_login("a1 LOGIN joe x y\r\n")), "expected end of command (found SP)");
}

TEST(ImapTokenizer, ErrorOffsetPointsAtTheProblem) {
  cursor c("a1  LOGIN");
  ASSERT_TRUE(c.read_tag());
  ASSERT_TRUE(c.expect_sp());
  auto verb = c.read_atom("a command name");
  ASSERT_FALSE(verb);
  EXPECT_EQ(verb.error().offset, 3u);
  cursor q("\"ab\\x\"");
  auto e = q.read_quoted();
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().offset, 3u);  // the backslash
  EXPECT_EQ(q.offset(), 0u);
}

TEST(ImapTokenizer, UidStoreCommand) {
  auto a = parse_uid_store("a2 UID STORE 5:2,9:* +FLAGS (\\Seen $Junk)\r\n");
  ASSERT_EQ(words_of(a), "");
  EXPECT_EQ(show(std::get<store_args>(a).set), "5:2,9:*");
  EXPECT_EQ(std::get<store_args>(a).flags, (std::vector<std::string>{"\\Seen", "$Junk"}));
  auto empty = parse_uid_store("a2 UID STORE $ +FLAGS ()\r\n");
  ASSERT_EQ(words_of(empty), "");
  EXPECT_TRUE(std::get<store_args>(empty).set.saved_result);
  EXPECT_EQ(words_of(parse_uid_store("a2 UID STORE 1 +FLAGS (\\Seen  x)\r\n")),
            "expected a flag (found SP)");
}

// Valid commands go through the framer split at every byte, then parse; every truncated
// prefix fails cleanly (no read past the end, no crash).
TEST(ImapTokenizer, FramedAtEverySplitThenParsedAndPrefixesFail) {
  for (const auto& cmd : valid_logins()) {
    SCOPED_TRACE(cmd);
    for (size_t split = 0; split <= cmd.size(); ++split) {
      command_framer f(1 << 12, 1 << 10);
      std::string buf = cmd.substr(0, split);
      auto fr = f.scan(buf);
      buf = cmd;
      while (fr.what != frame::kind::complete) {
        ASSERT_TRUE(fr.what == frame::kind::need_more || fr.what == frame::kind::continuation);
        fr = f.scan(buf);
      }
      ASSERT_EQ(fr.length, cmd.size()) << split;
      EXPECT_EQ(words_of(parse_login(std::string_view(buf).substr(0, fr.length))), "");
    }
    for (size_t n = 0; n < cmd.size(); ++n)
      EXPECT_NE(words_of(parse_login(std::string_view(cmd).substr(0, n))), "") << n;
  }
}

}  // namespace postern::proto::imap
