#include "proto/imap/mutf7.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace postern::proto::imap {

namespace {

struct pair_case {
  std::string mutf7;
  std::string utf8;
};

// Both directions: canonical mUTF-7 <-> UTF-8.
const std::vector<pair_case> pairs = {
    {"", ""},
    {"INBOX", "INBOX"},
    {"~peter/mail/&U,BTFw-/&ZeVnLIqe-",
     "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"},
    {"&-", "&"},
    {"a&-b&-&-", "a&b&&"},
    {"Entw&APw-rfe",
     "Entw\xc3\xbc"
     "rfe"},
    {"&AOkA6QDp-", "\xc3\xa9\xc3\xa9\xc3\xa9"},  // three units: 8 chars, no padding
    {"&AOkA6Q-", "\xc3\xa9\xc3\xa9"},            // two units: 6 chars
    {"&AMk-&-", "\xc3\x89&"},                    // "&-" right after a run
    {"&2D3eAA-", "\xf0\x9f\x98\x80"},            // U+1F600 as a surrogate pair
    {"x&2D3eANg93gE-y", "x\xf0\x9f\x98\x80\xf0\x9f\x98\x81y"},
    {"&AAE-", "\x01"},  // a control character is encoded
    {"&AH8-", "\x7f"},
    {" ~!\"#$%'()*+,-./09:;<=>?@AZ[\\]^_`az{|}", " ~!\"#$%'()*+,-./09:;<=>?@AZ[\\]^_`az{|}"},
    {"&,,8-", "\xef\xbf\xbf"},  // U+FFFF: the "," digit
    {"&+,8-", "\xef\xaf\xbf"},  // U+FBFF: "+" and ","
};

}  // namespace

TEST(Mutf7, DecodesAndEncodesCanonicalPairs) {
  for (const auto& p : pairs) {
    SCOPED_TRACE(p.mutf7);
    auto d = decode_mutf7(p.mutf7);
    ASSERT_TRUE(d) << d.error().words;
    EXPECT_EQ(*d, p.utf8);
    EXPECT_EQ(encode_mutf7(p.utf8), p.mutf7);
  }
}

TEST(Mutf7, RefusesEveryNonCanonicalOrBrokenForm) {
  struct bad {
    std::string in;
    std::string words;
    size_t offset;
  };
  const std::vector<bad> cases = {
      {"a&U,BTFw", "not closed by \"-\"", 1},
      {"&", "not closed by \"-\"", 0},
      {"x&U,B!Fw-", "has \"!\" inside a base64 run", 5},
      {"&U/BTFw-", "has \"/\" inside a base64 run", 2},
      {"&AMk=-", "has \"=\" inside a base64 run", 4},
      {"&AMl-", "non-zero padding bits", 4},     // 'l' leaves bits 01 set
      {"&AM-", "ends inside a UTF-16 unit", 3},  // 12 bits: no unit at all
      {"&A-", "ends inside a UTF-16 unit", 2},
      {"&AMkA-", "ends inside a UTF-16 unit", 5},   // 24 bits: 8 over
      {"&AMkAA-", "ends inside a UTF-16 unit", 6},  // 30 bits: 14 over
      {"&AGE-", "\"a\" in base64", 3},              // printable ASCII encoded
      {"&ACY-", "\"&\" in base64", 3},
      {"&ACA-", "\" \" in base64", 3},
      {"&AAA-", "encoded NUL", 3},
      {"&AMk-&AOk-", "back to back", 5},
      {"&2D0-", "unpaired UTF-16 surrogate", 3},     // lone high at the end
      {"&2D0AQQ-", "unpaired UTF-16 surrogate", 3},  // high then a non-low
      {"&3gA-", "unpaired UTF-16 surrogate", 3},     // lone low
      {"caf\xc3\xa9", "8-bit byte", 3},
      {"a\tb", "control character", 1},
      {"a\x7f", "control character", 1},
      {"a\r\n", "control character", 1},
      {std::string("a\0b", 3), "control character", 1},
      {"&AMk&-", "has \"&\" inside a base64 run", 4},  // "&-" inside a run
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.in);
    auto d = decode_mutf7(c.in);
    ASSERT_FALSE(d) << *d;
    EXPECT_NE(d.error().words.find(c.words), std::string::npos) << d.error().words;
    EXPECT_NE(d.error().words.find("mailbox name"), std::string::npos);
    EXPECT_EQ(d.error().offset, c.offset) << d.error().words;
    for (char ch : d.error().words) EXPECT_TRUE(ch >= 0x20 && ch <= 0x7e) << d.error().words;
  }
}

TEST(Mutf7, EncodeReplacesInvalidUtf8) {
  EXPECT_EQ(encode_mutf7("a\xff"
                         "b"),
            "a&,,0-b");  // U+FFFD
  EXPECT_EQ(encode_mutf7("\xc3"), "&,,0-");
  EXPECT_EQ(encode_mutf7("\xed\xa0\x80"), "&,,3,,f,9-");  // an encoded surrogate: 3 x U+FFFD
  EXPECT_EQ(encode_mutf7("\xc0\xaf"), "&,,3,,Q-");        // overlong: 2 x U+FFFD
}

TEST(Mutf7, RoundTripsEveryPlaneAndMix) {
  // Code points across the planes mixed with ASCII and "&", as runs of 1..5.
  std::vector<uint32_t> points = {0x80,   0xe9,   0x7ff,   0x800,   0x4e2d,   0xd7ff, 0xe000,
                                  0xfffd, 0xffff, 0x10000, 0x1f600, 0x10ffff, 0x1,    0x1f};
  auto utf8 = [](uint32_t cp) {
    std::string s;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xc0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xe0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      s += static_cast<char>(0xf0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    }
    return s;
  };
  for (size_t n = 1; n <= 5; ++n) {
    for (uint32_t cp : points) {
      for (std::string sep : {"", "x", "&", "-", "&-"}) {
        std::string s;
        for (size_t i = 0; i < n; ++i) s += utf8(cp) + (i % 2 ? sep : "");
        auto enc = encode_mutf7(s);
        SCOPED_TRACE(enc);
        auto dec = decode_mutf7(enc);
        ASSERT_TRUE(dec) << dec.error().words;
        EXPECT_EQ(*dec, s);
        EXPECT_EQ(encode_mutf7(*dec), enc);
      }
    }
  }
}

}  // namespace postern::proto::imap
