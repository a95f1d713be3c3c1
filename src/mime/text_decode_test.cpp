#include "mime/text_decode.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "base/strings.hpp"

namespace postern::mime {
namespace {

struct header_case {
  std::string raw;
  std::string decoded;
};

TEST(DecodeHeaderValue, Rfc2047Section8Examples) {
  const std::vector<header_case> cases = {
      {"=?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>", "Keith Moore <moore@cs.utk.edu>"},
      {"=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>",
       "Keld J\u00f8rn Simonsen <keld@dkuug.dk>"},
      {"=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>",
       "Andr\u00e9 Pirard <PIRARD@vm1.ulg.ac.be>"},
      {" =?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\r\n"
       "    =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=",
       "If you can read this you understand the example."},
      {"Nathaniel Borenstein <nsb@thumper.bellcore.com>\r\n"
       "    (=?iso-8859-8?b?7eXs+SDv4SDp7Oj08A==?=)",
       "Nathaniel Borenstein <nsb@thumper.bellcore.com>    (\u05dd\u05d5\u05dc\u05e9 "
       "\u05df\u05d1 \u05d9\u05dc\u05d8\u05e4\u05e0)"},
      {"(=?ISO-8859-1?Q?a?=)", "(a)"},
      {"(=?ISO-8859-1?Q?a?= b)", "(a b)"},
      {"(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)"},
      {"(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)"},
      {"(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)"},
      {"(=?ISO-8859-1?Q?a_b?=)", "(a b)"},
      {"(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)"},
  };
  for (const auto& c : cases) EXPECT_EQ(decode_header_value(c.raw), c.decoded) << c.raw;
}

TEST(DecodeHeaderValue, QAndBDetails) {
  const std::vector<header_case> cases = {
      {"=?utf-8?q?hello_world?=", "hello world"},
      {"=?UTF-8?Q?a=5Fb?=", "a_b"},  // an encoded underscore is one
      {"=?utf-8?Q?=E2=82=AC_5?=", "\u20ac 5"},
      {"=?utf-8?b?4oKs?=", "\u20ac"},
      {"=?utf-8?B?4oKs?=", "\u20ac"},
      {"=?utf-8?q?a=3F?=", "a?"},
      {"=?utf-8?q?bad=zzhex?=", "bad=zzhex"},
      {"=?utf-8*en?q?hi?=", "hi"},  // RFC 2231 §5 language
      {"=?utf-8?q?"
       "?=",
       ""},
      {"a =?utf-8?q?b?= c", "a b c"},
      {"=?utf-8?q?a?= x =?utf-8?q?b?=", "a x b"},
      {"foo=?utf-8?q?bar?=baz", "foobarbaz"},  // glued to text, decoded anyway
      {"=?utf-8?q?a?==?utf-8?q?b?=", "ab"},
      {"\"=?utf-8?q?J=C3=B6rg?=\" <j@example.org>", "\"J\u00f6rg\" <j@example.org>"},
      {"  Hello\r\n\tWorld  ", "Hello\tWorld"},
      {"Hello\r\n World", "Hello World"},
      {"", ""},
  };
  for (const auto& c : cases) EXPECT_EQ(decode_header_value(c.raw), c.decoded) << c.raw;
}

TEST(DecodeHeaderValue, MixedCharsets) {
  const std::vector<header_case> cases = {
      {"=?iso-8859-1?q?caf=E9?=", "caf\u00e9"},
      {"=?windows-1252?q?=80_=93x=94?=", "\u20ac \u201cx\u201d"},
      {"=?iso-8859-1?q?=80?=", "\u20ac"},  // read as its superset Windows-1252
      {"=?koi8-r?b?8NLJ18XU?=", "\u041f\u0440\u0438\u0432\u0435\u0442"},
      {"=?Shift_JIS?B?k/qWe4zq?=", "\u65e5\u672c\u8a9e"},
      {"=?iso-2022-jp?B?GyRCRnxLXDhsGyhC?=", "\u65e5\u672c\u8a9e"},
      // Two ISO-2022-JP words (Cyrillic of JIS X 0208), each back in ASCII at its end.
      {"RE: =?ISO-2022-JP?B?GyRCJyInYidWJ2EnYidaGyhCIBskQiddJ20nYydkJ2IbKEI=?=\r\n"
       " =?ISO-2022-JP?B?GyRCJ1onYSdxJ2QnbidcJ2IncCdfGyhCIBskQidxGyhC?=",
       "RE: \u0411\u0440\u0435\u043f\u0440\u0438 \u043b\u044b\u0441\u0442\u0440\u0438"
       "\u043f\u044f\u0442\u044c\u043a\u0440\u044e\u043d \u044f"},
      {"=?gb2312?b?1tDOxA==?=", "\u4e2d\u6587"},
      {"=?iso-8859-1?q?J=F6rg?= =?koi8-r?q?=F0?= =?utf-8?q?=E2=82=AC?=", "J\u00f6rg\u041f\u20ac"},
      // A character split over two words is joined before conversion.
      {"=?utf-8?q?=C3?= =?UTF-8?q?=A9?=", "\u00e9"},
      {"=?utf-8?b?5pel?= =?utf-8?b?5pys?=", "\u65e5\u672c"},
      // A charset ICU does not know: UTF-8 if valid, else Windows-1252.
      {"=?x-unknown?q?caf=C3=A9?=", "caf\u00e9"},
      {"=?x-unknown?q?caf=E9?=", "caf\u00e9"},
      // Bytes the charset does not define become U+FFFD.
      {"=?utf-8?q?a=FFb?=", "a\ufffdb"},
  };
  for (const auto& c : cases) EXPECT_EQ(decode_header_value(c.raw), c.decoded) << c.raw;
}

TEST(DecodeHeaderValue, InvalidWordsStayAsTheyAre) {
  const std::vector<std::string> kept = {
      "=?utf-8?x?abc?=",   // no such encoding
      "=?utf-8?q?abc",     // not closed
      "=??q?abc?=",        // no charset
      "=?*en?q?abc?=",     // only a language
      "=?utf-8?q?a b?=",   // a space inside
      "=?utf-8?qq?abc?=",  // encoding longer than one letter
      "=?utf-8?q?a?b?=",  "=?", "=?utf-8", "=?utf-8?", "=?utf-8?q", "=?utf-8?q?", "a=?b",
  };
  for (const auto& k : kept) EXPECT_EQ(decode_header_value(k), k) << k;
  // A broken word before a good one does not hide it.
  EXPECT_EQ(decode_header_value("=?=?utf-8?q?x?="), "=?x");
  EXPECT_EQ(decode_header_value("=?utf-8?x?y?= =?utf-8?q?z?="), "=?utf-8?x?y?= z");
}

TEST(DecodeHeaderValue, Raw8Bit) {
  EXPECT_EQ(decode_header_value("caf\xc3\xa9"), "caf\u00e9");  // RFC 6532 UTF-8
  EXPECT_EQ(decode_header_value("caf\xe9"), "caf\u00e9");      // undeclared Latin-1
  EXPECT_EQ(decode_header_value("\x80 \x9d"), "\u20ac \u009d");
  EXPECT_EQ(decode_header_value("caf\xe9 =?utf-8?q?=E2=82=AC?="), "caf\u00e9 \u20ac");
}

TEST(ToUtf8, Charsets) {
  EXPECT_EQ(to_utf8("caf\xe9", "ISO-8859-1"), "caf\u00e9");
  EXPECT_EQ(to_utf8("\x80\x81\x8a", "windows-1252"), "\u20ac\u0081\u0160");
  EXPECT_EQ(to_utf8("\xa4", "iso-8859-15"), "\u20ac");
  EXPECT_EQ(to_utf8("\xf0\xd2\xc9\xd7\xc5\xd4", "KOI8-R"), "\u041f\u0440\u0438\u0432\u0435\u0442");
  EXPECT_EQ(to_utf8("\x93\xfa\x96\x7b\x8c\xea", "shift_jis"), "\u65e5\u672c\u8a9e");
  EXPECT_EQ(to_utf8("\xc6\xfc\xcb\xdc", "euc-jp"), "\u65e5\u672c");
  EXPECT_EQ(to_utf8("\xc7\xd1\xb1\xdb", "ks_c_5601-1987"), "\ud55c\uae00");
  EXPECT_EQ(to_utf8(std::string("a\0b\0", 4), "utf-16le"), "ab");
  EXPECT_EQ(to_utf8(std::string("\x3d\xd8\x00\xde", 4), "utf-16le"), "\U0001f600");
  EXPECT_EQ(to_utf8("caf\xc3\xa9", "UTF-8"), "caf\u00e9");
  EXPECT_EQ(to_utf8(" x ", " \"utf-8\" "), " x ");  // quotes are not ours to strip
}

TEST(ToUtf8, FallbacksAndReplacement) {
  EXPECT_EQ(to_utf8("caf\xc3\xa9", ""), "caf\u00e9");
  EXPECT_EQ(to_utf8("caf\xe9", ""), "caf\u00e9");
  EXPECT_EQ(to_utf8("caf\xc3\xa9", "us-ascii"), "caf\u00e9");
  EXPECT_EQ(to_utf8("caf\xe9", "us-ascii"), "caf\u00e9");
  EXPECT_EQ(to_utf8("caf\xe9", "x-no-such-charset"), "caf\u00e9");
  EXPECT_EQ(to_utf8("caf\xe9", "utf-8,swaplfnl"), "caf\u00e9");  // not a name ICU should see
  // Whole-text rule: one invalid byte makes all of it Windows-1252.
  EXPECT_EQ(to_utf8("\xc3\xa9 \xe9", ""), "\u00c3\u00a9 \u00e9");
  // UTF-8: each maximal ill-formed subpart is one U+FFFD (Unicode §3.9).
  EXPECT_EQ(to_utf8("a\xffz", "utf-8"), "a\ufffdz");
  EXPECT_EQ(to_utf8("a\xe2\x82z", "utf-8"), "a\ufffdz");
  EXPECT_EQ(to_utf8("\xc0\x80", "utf-8"), "\ufffd\ufffd");            // overlong
  EXPECT_EQ(to_utf8("\xed\xa0\x80", "utf-8"), "\ufffd\ufffd\ufffd");  // surrogate
  EXPECT_EQ(to_utf8("\xf4\x90\x80\x80", "utf-8"), "\ufffd\ufffd\ufffd\ufffd");
  EXPECT_EQ(to_utf8("end\xe2\x82", "utf-8"), "end\ufffd");
  // ICU charsets: bytes they do not define become U+FFFD, never U+001A.
  EXPECT_EQ(to_utf8("a\x81", "shift_jis"), "a\ufffd");
  EXPECT_EQ(to_utf8("\x98", "koi8-r"), "\u2264");
  EXPECT_EQ(to_utf8("\xff", "iso-8859-8"), "\ufffd");
}

TEST(CharsetDecoder, EverySplitGivesTheSameText) {
  const std::vector<std::pair<std::string, std::string>> inputs = {
      {"utf-8",
       "Gr\xc3\xb6\xc3\x9f"
       "e \xe2\x82\xac \xf0\x9f\x98\x80 \xff\xe2\x82 end"},
      {"",
       "Gr\xc3\xb6\xc3\x9f"
       "e \xf0\x9f\x98\x80 x"},
      {"shift_jis", "\x93\xfa\x96\x7b\x8c\xea abc \x82\xa0"},
      {"koi8-r", "\xf0\xd2\xc9\xd7\xc5\xd4"},
      {"iso-2022-jp", "\x1b$BF|K\\8l\x1b(B x"},
      {"utf-16le", std::string("\x3d\xd8\x00\xde"
                               "a\0",
                               6)},
      {"iso-8859-1", "caf\xe9"},
  };
  for (const auto& [charset, in] : inputs) {
    const std::string want = to_utf8(in, charset);
    for (size_t i = 0; i <= in.size(); ++i) {
      for (size_t j = i; j <= in.size(); ++j) {
        charset_decoder d(charset);
        std::string out;
        d.feed(std::string_view(in).substr(0, i), out);
        const size_t mark = out.size();
        d.feed(std::string_view(in).substr(i, j - i), out);
        d.feed(std::string_view(in).substr(j), out);
        d.finish(out);
        ASSERT_EQ(out, want) << charset << " split " << i << "," << j;
        ASSERT_TRUE(is_valid_utf8(std::string_view(out).substr(0, mark)));
      }
    }
  }
}

TEST(CharsetDecoder, GuessPerSequenceWhenStreaming) {
  charset_decoder d("");
  std::string out;
  d.feed("\xc3\xa9 \xe9", out);
  d.finish(out);
  EXPECT_EQ(out, "\u00e9 \u00e9");
}

TEST(CharsetDecoder, SurrogatePairsAcrossIcuBuffers) {
  std::string in;
  std::string want;
  for (int i = 0; i < 5000; ++i) {
    in += (i % 3 == 0) ? std::string("a\0", 2) : std::string("\x3d\xd8\x00\xde", 4);
    want += (i % 3 == 0) ? "a" : "\U0001f600";
  }
  EXPECT_EQ(to_utf8(in, "utf-16le"), want);
  charset_decoder d("UTF-16LE");
  std::string out;
  for (size_t i = 0; i < in.size(); i += 1001) d.feed(std::string_view(in).substr(i, 1001), out);
  d.finish(out);
  EXPECT_EQ(out, want);
  // A lone surrogate at the end becomes U+FFFD.
  EXPECT_EQ(to_utf8("\x3d\xd8", "utf-16le"), "\ufffd");
}

TEST(CharsetDecoder, ConvertersAreSafeAcrossThreads) {
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &ok] {
      for (int i = 0; i < 500; ++i) {
        const bool a = to_utf8("\xf0\xd2\xc9", "koi8-r") == "\u041f\u0440\u0438";
        const bool b = to_utf8("\x93\xfa", "shift_jis") == "\u65e5";
        // Two decoders of one charset alive at once in one thread.
        charset_decoder d1("koi8-r");
        charset_decoder d2("koi8-r");
        std::string o1, o2;
        d1.feed("\xf0", o1);
        d2.feed("\xd2", o2);
        d1.finish(o1);
        d2.finish(o2);
        if (a && b && o1 == "\u041f" && o2 == "\u0440") ++ok[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int n : ok) EXPECT_EQ(n, 500);
}

TEST(FoldCase, FullDefaultFolding) {
  EXPECT_EQ(fold_case("Hello WORLD 123"), "hello world 123");
  EXPECT_EQ(fold_case("Stra\u00dfe"), "strasse");
  EXPECT_EQ(fold_case("STRASSE"), fold_case("Stra\u00dfe"));
  EXPECT_EQ(fold_case("\u1e9e"), "ss");  // capital sharp s
  // Greek: capital, small and final sigma fold alike.
  EXPECT_EQ(fold_case("\u03a3\u039f\u03a6\u039f\u03a3"),
            fold_case("\u03c3\u03bf\u03c6\u03bf\u03c2"));
  EXPECT_EQ(fold_case("\u03c2"), "\u03c3");
  // Default folding, not Turkish: I to i, dotted capital I to i + U+0307,
  // dotless small i stays.
  EXPECT_EQ(fold_case("I"), "i");
  EXPECT_EQ(fold_case("\u0130"), "i\u0307");
  EXPECT_EQ(fold_case("\u0131"), "\u0131");
  EXPECT_EQ(fold_case("\u0390"), "\u03b9\u0308\u0301");  // grows threefold in bytes
  EXPECT_EQ(fold_case("\uff21"), "\uff41");              // fullwidth A
  EXPECT_EQ(fold_case("\U00010400"), "\U00010428");      // Deseret
  EXPECT_EQ(fold_case("ABC\xff"), "abc\ufffd");
  EXPECT_EQ(fold_case(""), "");
}

TEST(FoldCase, LargeTextAcrossPieces) {
  std::string in;
  std::string want;
  while (in.size() < 3 * (1 << 20)) {
    in += "A\u00c9\u03a3\U00010400";
    want += "a\u00e9\u03c3\U00010428";
  }
  EXPECT_EQ(fold_case(in), want);
}

TEST(IsValidUtf8, Table) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("abc \u00e9 \u20ac \U0010ffff"));
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));
  EXPECT_FALSE(is_valid_utf8("\xe0\x80\xaf"));
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));
  EXPECT_FALSE(is_valid_utf8("\x80"));
}

}  // namespace
}  // namespace postern::mime
