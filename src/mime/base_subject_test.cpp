#include "mime/base_subject.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace postern::mime {
namespace {

struct subject_case {
  std::string raw;
  std::string base;
  bool reply_or_forward;
};

void expect_cases(const std::vector<subject_case>& cases) {
  for (const auto& c : cases) {
    const base_subject_result r = base_subject(c.raw);
    // Expected bases are written in lower case; keys are titlecased.
    EXPECT_EQ(r.base, unicode_casemap(c.base)) << "subject: \"" << c.raw << '"';
    EXPECT_EQ(r.reply_or_forward, c.reply_or_forward) << "subject: \"" << c.raw << '"';
  }
}

TEST(BaseSubject, EmptyAndBlank) {
  expect_cases({
      {"", "", false},
      {" ", "", false},
      {" \t \r\n  ", "", false},
      {"Hello", "hello", false},
      {"  Hello  ", "hello", false},
  });
}

TEST(BaseSubject, BlanksCollapse) {
  expect_cases({
      {"Hello   World", "hello world", false},
      {"Hello\tWorld", "hello world", false},
      {"Hello \t World", "hello world", false},
      {"Hello\r\n World", "hello world", false},  // folded
      {"Re:\tHello\r\n\t  World", "hello world", true},
  });
}

// Step (2): subj-trailer = "(fwd)" / WSP, repeatedly.
TEST(BaseSubject, Trailers) {
  expect_cases({
      {"Hello (fwd)", "hello", true},
      {"Hello(fwd)", "hello", true},
      {"Hello (FWD) (Fwd)  ", "hello", true},
      {"Hello (fwd) x", "hello (fwd) x", false},
      {"(fwd)", "", true},
      {"Hello (fw)", "hello (fw)", false},
      {"Hello fwd)", "hello fwd)", false},
  });
}

// Step (3): subj-leader = (*subj-blob subj-refwd) / WSP, and
// subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":".
TEST(BaseSubject, ReplyAndForwardLeaders) {
  expect_cases({
      {"Re: Hello", "hello", true},
      {"RE: Hello", "hello", true},
      {"rE:Hello", "hello", true},
      {"Re : Hello", "hello", true},
      {"Re  :  Hello", "hello", true},
      {"Re[2]: Hello", "hello", true},
      {"Re [2] : Hello", "hello", true},
      {"RE[list]:Hello", "hello", true},
      {"Fw: Hello", "hello", true},
      {"FW: Hello", "hello", true},
      {"Fwd: Hello", "hello", true},
      {"FWD : Hello", "hello", true},
      {"fwd[3]: Hello", "hello", true},
      {"Re: Re: Fwd: Re: Hello", "hello", true},
      {"Re:", "", true},
      {"Re: Re: Fw:", "", true},
      {"[list] Re: Hello", "hello", true},
      {"[a][b] [c] Re: Hello", "hello", true},
      {"[list] Re:", "", true},
  });
}

TEST(BaseSubject, NotLeaders) {
  expect_cases({
      {"Reply: Hello", "reply: hello", false},
      {"Re Hello", "re hello", false},
      {"Rehearsal", "rehearsal", false},
      {"Fwd Hello", "fwd hello", false},
      {"Fw d: Hello", "fw d: hello", false},
      {"Fwdd: Hello", "fwdd: hello", false},
      {"Re[2: Hello", "re[2: hello", false},
      {"Re[2] Hello", "re[2] hello", false},
      {"Re: [", "[", true},
      {"AW: Hello", "aw: hello", false},  // only "re", "fw" and "fwd" count
      {"Hello Re: World", "hello re: world", false},
  });
}

// Step (4): a subj-blob goes only when text remains after it.
TEST(BaseSubject, Blobs) {
  expect_cases({
      {"[list] Hello", "hello", false},
      {"[list]Hello", "hello", false},
      {"[a] [b] Hello", "hello", false},
      {"[list]", "[list]", false},
      {"[a][b]", "[b]", false},
      {"[a] [b] ", "[b]", false},
      {"[a] [b] [c]", "[c]", false},
      {"Re: [list]", "[list]", true},
      {"Re: [list] Hello", "hello", true},
      {"[x] (fwd)", "[x]", true},
      {"[unclosed Hello", "[unclosed hello", false},
      {"[a[b] Hello", "[a[b] hello", false},
      {"[] Hello", "hello", false},
      {"Hello [not] leading", "hello [not] leading", false},
  });
}

// Step (6): "[fwd:" ... "]" around the whole subject, then again from (2).
TEST(BaseSubject, ForwardWrapper) {
  expect_cases({
      {"[fwd: Hello]", "hello", true},
      {"[FWD: Hello]", "hello", true},
      {"[Fwd: Re: Hello]", "hello", true},
      {"[fwd: Hello (fwd)]", "hello", true},
      {"[fwd: Hello] (fwd)", "hello", true},
      {"[fwd: [list] Hello]", "hello", true},
      {"[fwd: [fwd: Hello]]", "hello", true},
      {"[fwd: [fwd: Re: [list] Hello ] ]", "hello", true},
      {"[fwd:]", "", true},
      {"[fwd: Hello] World", "world", false},  // a blob, not a wrapper
      {"[fwd: Hello", "[fwd: hello", false},
      {"[fwd Hello]", "[fwd hello]", false},
  });
}

TEST(BaseSubject, Combined) {
  expect_cases({
      {"Re: [list] Fwd: Re: subject (fwd)", "subject", true},
      {"[list] Re: [other] FW: [x] Hello World (fwd) (fwd)", "hello world", true},
      {"Re: [fwd: Re: [list] Hello] (fwd)", "hello", true},
      {"  Re:   Re:Re :  hello   there  ", "hello there", true},
  });
}

TEST(BaseSubject, EncodedWords) {
  expect_cases({
      {"=?utf-8?q?Re=3A_Hello?=", "hello", true},
      {"=?iso-8859-1?q?Re:_caf=E9?=", "cafe\u0301", true},  // NFKD
      {"Re: =?utf-8?b?w6ljb2xl?=", "e\u0301cole", true},
      {"=?utf-8?q?=5Blist=5D?= Hello", "hello", false},
      {"=?utf-8?q?Hello_=28fwd=29?=", "hello", true},
      {"=?utf-8?q?Hello?=\r\n =?utf-8?q?_World?=", "hello world", false},
  });
}

// i;unicode-casemap: full case folding then NFKD, so equal strings mean equal
// subjects.
TEST(BaseSubject, UnicodeCasemap) {
  // Simple titlecase mappings, as RFC 5051 uses: "ß" stays one letter.
  EXPECT_NE(base_subject("Re: Stra\u00dfe").base, base_subject("STRASSE").base);
  EXPECT_EQ(base_subject("Re: Stra\u00dfe").base, base_subject("STRA\u00dfE").base);
  EXPECT_EQ(base_subject("\u03a3\u039f\u03a6\u039f\u03a3").base,
            base_subject("\u03c3\u03bf\u03c6\u03bf\u03c2").base);
  EXPECT_EQ(base_subject("Caf\u00e9").base, base_subject("CAFE\u0301").base);
  EXPECT_EQ(base_subject("\uff41\uff42\uff43").base, "ABC");  // fullwidth
  EXPECT_EQ(base_subject("\u00e9t\u00e9").base, "E\u0301TE\u0301");
  // Titlecase orders "[" and "_" after letters, as i;unicode-casemap does.
  EXPECT_LT(base_subject("c").base, base_subject("[xyz]").base);
  EXPECT_LT(base_subject("[xyz]").base, base_subject("_").base);
  EXPECT_NE(base_subject("Hello").base, base_subject("Hallo").base);
  // Non-ASCII text around the syntax, and the syntax itself only in ASCII.
  expect_cases({
      {"Re: [\u00fcber] \u00dcBER", "u\u0308ber", true},
      {"\uff32\uff45: Hello", "re: hello", false},  // fullwidth "Re" is no leader
  });
  EXPECT_EQ(base_subject("Re: \xff bad").base, "Y\u0308 BAD");  // Windows-1252, then NFKD
}

using clock_type = std::chrono::steady_clock;

double seconds_for(const std::string& raw, base_subject_result& out) {
  const auto start = clock_type::now();
  out = base_subject(raw);
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

std::string repeated(std::string_view piece, size_t bytes) {
  std::string s;
  s.reserve(bytes + piece.size());
  while (s.size() < bytes) s.append(piece);
  return s;
}

// A megabyte of each hostile shape: well under a second each, where a quadratic
// extraction would take minutes (the bound is loose for slow builds).
TEST(BaseSubject, HostileInputsAreLinear) {
  constexpr size_t mib = 1 << 20;
  base_subject_result r;

  EXPECT_LT(seconds_for(repeated("re: ", 100 * 1024), r), 5.0);
  EXPECT_EQ(r.base, "");
  EXPECT_TRUE(r.reply_or_forward);

  EXPECT_LT(seconds_for(repeated("Re: ", mib), r), 5.0);
  EXPECT_EQ(r.base, "");

  EXPECT_LT(seconds_for(repeated("[a]", mib) + " x", r), 5.0);
  EXPECT_EQ(r.base, "X");
  EXPECT_FALSE(r.reply_or_forward);

  EXPECT_LT(seconds_for(repeated("[a] ", mib), r), 5.0);
  EXPECT_EQ(r.base, "[A]");

  EXPECT_LT(seconds_for(repeated("[a]", mib) + "re:x", r), 5.0);
  EXPECT_EQ(r.base, "X");
  EXPECT_TRUE(r.reply_or_forward);

  const std::string opens = repeated("[fwd: ", mib / 2);
  EXPECT_LT(seconds_for(opens + "x" + std::string(opens.size() / 6, ']'), r), 5.0);
  EXPECT_EQ(r.base, "X");
  EXPECT_TRUE(r.reply_or_forward);

  EXPECT_LT(seconds_for(repeated("[", mib), r), 5.0);
  EXPECT_EQ(r.base.size(), mib);

  EXPECT_LT(seconds_for("re [" + repeated("a", mib), r), 5.0);
  EXPECT_EQ(r.base.size(), mib + 4);

  EXPECT_LT(seconds_for(repeated("x (fwd)", mib), r), 5.0);
  EXPECT_TRUE(r.reply_or_forward);

  EXPECT_LT(seconds_for(repeated(" \t", mib), r), 5.0);
  EXPECT_EQ(r.base, "");
}

}  // namespace
}  // namespace postern::mime
