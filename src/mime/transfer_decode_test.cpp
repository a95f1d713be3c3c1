#include "mime/transfer_decode.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "base/strings.hpp"

namespace postern::mime {
namespace {

struct decode_case {
  cte encoding;
  std::string in;
  std::string out;
};

// Decodes `in` split into the given chunk lengths (the rest in one last chunk).
std::string decode_split(cte e, std::string_view in, const std::vector<size_t>& cuts) {
  transfer_decoder d(e);
  std::string out;
  size_t at = 0;
  for (size_t cut : cuts) {
    d.feed(in.substr(at, cut - at), out);
    at = cut;
  }
  d.feed(in.substr(at), out);
  d.finish(out);
  return out;
}

// STYLE.md: every case replayed at every split, two and three pieces, and one
// byte at a time.
void expect_every_split(cte e, const std::string& in, const std::string& want) {
  for (size_t i = 0; i <= in.size(); ++i) {
    ASSERT_EQ(decode_split(e, in, {i}), want) << "split at " << i << " of " << base::printable(in);
    if (in.size() <= 40) {
      for (size_t j = i; j <= in.size(); ++j) {
        ASSERT_EQ(decode_split(e, in, {i, j}), want)
            << "split at " << i << "," << j << " of " << base::printable(in);
      }
    }
  }
  transfer_decoder d(e);
  std::string out;
  for (char c : in) d.feed(std::string_view(&c, 1), out);
  d.finish(out);
  EXPECT_EQ(out, want) << "byte at a time: " << base::printable(in);
  EXPECT_EQ(decoded_size(in, e), want.size()) << base::printable(in);
}

TEST(ClassifyCte, Names) {
  EXPECT_EQ(classify_cte(""), cte::identity);
  EXPECT_EQ(classify_cte("7bit"), cte::identity);
  EXPECT_EQ(classify_cte("8BIT"), cte::identity);
  EXPECT_EQ(classify_cte("Binary"), cte::identity);
  EXPECT_EQ(classify_cte(" base64 "), cte::base64);
  EXPECT_EQ(classify_cte("BASE64"), cte::base64);
  EXPECT_EQ(classify_cte("Quoted-Printable"), cte::quoted_printable);
  EXPECT_EQ(classify_cte("x-uuencode"), cte::unknown);
  EXPECT_EQ(classify_cte("base-64"), cte::unknown);
  EXPECT_EQ(classify_cte("7bitx"), cte::unknown);
}

TEST(TransferDecode, Base64) {
  const std::vector<decode_case> cases = {
      {cte::base64, "SGVsbG8=", "Hello"},
      {cte::base64, "SGVsbG8", "Hello"},           // padding missing
      {cte::base64, "SGVs\r\nbG8=\r\n", "Hello"},  // line breaks
      {cte::base64, " SG*Vs!b\tG8 =", "Hello"},    // junk ignored
      {cte::base64, "SGVsbG8=QUJD", "Hello"},      // '=' ends the data
      {cte::base64, "SGVsbA==", "Hell"},
      {cte::base64, "SGVsbA", "Hell"},
      {cte::base64, "SGVsb", "Hel"},  // a lone sextet is no byte
      {cte::base64, "SGVs", "Hel"},
      {cte::base64, "", ""},
      {cte::base64, "====", ""},
      {cte::base64, "\r\n\r\n", ""},
      {cte::base64, "AAEC/w==", std::string("\x00\x01\x02\xff", 4)},
      {cte::base64, "-_-_", ""},  // base64url is not RFC 2045
      {cte::base64, "YQ==YQ==", "a"},
  };
  for (const auto& c : cases) expect_every_split(c.encoding, c.in, c.out);
}

TEST(TransferDecode, Base64AllBytesWithLineBreaks) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  all += all;
  const std::string enc = base::base64_encode(all);
  std::string wrapped;
  for (size_t i = 0; i < enc.size(); i += 76) wrapped += enc.substr(i, 76) + "\r\n";
  expect_every_split(cte::base64, wrapped, all);
}

TEST(TransferDecode, QuotedPrintable) {
  const std::vector<decode_case> cases = {
      {cte::quoted_printable, "plain text\r\n", "plain text\r\n"},
      {cte::quoted_printable, "a=3Db", "a=b"},
      {cte::quoted_printable, "a=3db", "a=b"},  // lower-case hex
      {cte::quoted_printable, "caf=E9", "caf\xe9"},
      {cte::quoted_printable, "soft=\r\nbreak", "softbreak"},
      {cte::quoted_printable, "soft=\nbreak", "softbreak"},
      {cte::quoted_printable, "soft=  \t\r\nbreak", "softbreak"},  // padding after '='
      {cte::quoted_printable, "trail   \r\nnext", "trail\r\nnext"},
      {cte::quoted_printable, "trail \t\nnext", "trail\nnext"},
      {cte::quoted_printable, "end   ", "end"},
      {cte::quoted_printable, "end=", "end"},
      {cte::quoted_printable, "end=  ", "end"},
      {cte::quoted_printable, "end=\r", "end"},
      {cte::quoted_printable, "=ZZ", "=ZZ"},  // invalid: kept
      {cte::quoted_printable, "=A", "=A"},
      {cte::quoted_printable, "=Ax", "=Ax"},
      {cte::quoted_printable, "==41", "=A"},
      {cte::quoted_printable, "=4=41", "=4A"},
      {cte::quoted_printable, "a = b", "a = b"},
      {cte::quoted_printable, "a =\tb", "a =\tb"},
      {cte::quoted_printable, "x\ry", "x\ry"},
      {cte::quoted_printable, "x  \ry", "x  \ry"},
      {cte::quoted_printable, "x=\ry", "x=\ry"},
      {cte::quoted_printable, "x =\r\n y", "x  y"},
      {cte::quoted_printable, "a  \r\r\n", "a  \r\r\n"},
      {cte::quoted_printable, "line  \r", "line\r"},
      {cte::quoted_printable, "caf\xe9 8bit", "caf\xe9 8bit"},  // raw 8-bit passes
      {cte::quoted_printable, "=00=FF", std::string("\x00\xff", 2)},
      {cte::quoted_printable, "", ""},
      {cte::quoted_printable, "=", ""},
      {cte::quoted_printable, "=\r\n=\r\n", ""},
      {cte::quoted_printable, "a\r\n\r\nb", "a\r\n\r\nb"},
  };
  for (const auto& c : cases) expect_every_split(c.encoding, c.in, c.out);
}

TEST(TransferDecode, QuotedPrintableLongBlankRunIsBounded) {
  // Every full 4096 blanks are data; the rest, before CRLF, is trailing.
  const std::string in = std::string(5000, ' ') + "\r\nx";
  const std::string want = std::string(4096, ' ') + "\r\nx";
  EXPECT_EQ(decode_body(in, cte::quoted_printable), want);
  EXPECT_EQ(decode_split(cte::quoted_printable, in, {1000, 4096, 4097, 4999}), want);
  EXPECT_EQ(decode_body(std::string(5000, ' ') + "x", cte::quoted_printable),
            std::string(5000, ' ') + "x");
}

TEST(TransferDecode, IdentityAndUnknownPassThrough) {
  expect_every_split(cte::identity, "a=3D\r\n  ", "a=3D\r\n  ");
  expect_every_split(cte::unknown, "begin 644 x\r\n", "begin 644 x\r\n");
  EXPECT_EQ(decoded_size("abc", cte::unknown), 3u);
}

TEST(TransferDecode, FinishResetsForTheNextBody) {
  transfer_decoder d(cte::base64);
  std::string out;
  d.feed("SGVsbG8=ignored", out);
  d.finish(out);
  d.feed("V29y", out);
  d.feed("bGQ", out);
  d.finish(out);
  EXPECT_EQ(out, "HelloWorld");

  transfer_decoder q(cte::quoted_printable);
  out.clear();
  q.feed("a=4", out);
  q.finish(out);
  q.feed("1", out);
  q.finish(out);
  EXPECT_EQ(out, "a=41");
}

TEST(TransferDecode, LargeRandomBodyAndCounter) {
  std::mt19937 rng(7);
  std::string data(300000, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  const std::string enc = base::base64_encode(data);
  std::string wrapped;
  for (size_t i = 0; i < enc.size(); i += 76) wrapped += enc.substr(i, 76) + "\r\n";
  EXPECT_EQ(decode_body(wrapped, cte::base64), data);
  EXPECT_EQ(decoded_size(wrapped, cte::base64), data.size());

  decoded_size_counter counter(cte::base64);
  for (size_t i = 0; i < wrapped.size(); i += 777)
    counter.feed(std::string_view(wrapped).substr(i, 777));
  EXPECT_EQ(counter.finish(), data.size());
  counter.feed("YWJj");
  EXPECT_EQ(counter.finish(), 3u);

  // Random QP-looking input: any split gives the same output.
  const std::string alphabet = "=3Dd \t\r\nAz";
  for (int round = 0; round < 200; ++round) {
    std::string in(rng() % 60, ' ');
    for (auto& c : in) c = alphabet[rng() % alphabet.size()];
    const std::string want = decode_body(in, cte::quoted_printable);
    for (size_t i = 0; i <= in.size(); ++i) {
      ASSERT_EQ(decode_split(cte::quoted_printable, in, {i}), want) << base::printable(in);
    }
  }
}

}  // namespace
}  // namespace postern::mime
