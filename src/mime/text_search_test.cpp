#include "mime/text_search.hpp"

#include <gtest/gtest.h>

#include <string>

#include "base/strings.hpp"
#include "mime/text_decode.hpp"

namespace postern::mime {
namespace {

bool header_has(const std::string& msg, std::string_view field, std::string_view needle) {
  return header_field_contains(msg, parse(msg), field, text_needle(needle));
}
bool body_has(const std::string& msg, std::string_view needle) {
  return body_contains(msg, parse(msg), text_needle(needle));
}
bool text_has(const std::string& msg, std::string_view needle) {
  return text_contains(msg, parse(msg), text_needle(needle));
}

std::string wrap76(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i += 76) out += s.substr(i, 76) + "\r\n";
  return out;
}

const std::string simple =
    "Received: from a.example by b.example\r\n"
    "Subject: =?ISO-8859-1?Q?Gr=FC=DFe_aus_der_Stra=DFe?=\r\n"
    "From: =?utf-8?q?J=C3=B6rg?= <joerg@example.org>\r\n"
    "To: alice@example.org,\r\n"
    " bob@example.org\r\n"
    "Received: from c.example by a.example\r\n"
    "X-Spam-Flag : YES\r\n"
    "X-Empty:\r\n"
    "\r\n"
    "Hello B\xc3\xb6"
    "b, see you at the STRASSE.\r\n";

TEST(TextNeedle, FoldsBothSides) {
  const text_needle n("STRASSE");
  EXPECT_EQ(n.folded(), "strasse");
  EXPECT_TRUE(n.found_in(fold_case("Die Stra\u00dfe")));
  EXPECT_FALSE(n.found_in(fold_case("Die Strase")));
  EXPECT_TRUE(text_needle("\u00df").found_in(fold_case("STRASSE")));
  EXPECT_TRUE(text_needle("\u03c3\u03bf\u03c6\u03bf\u03c2")
                  .found_in(fold_case("\u03a3\u039f\u03a6\u039f\u03a3")));
  EXPECT_TRUE(text_needle("").empty());
  EXPECT_TRUE(text_needle("").found_in("anything"));
  // Long needles take the Boyer-Moore path.
  const text_needle long_n("Needle In A Haystack");
  EXPECT_TRUE(long_n.found_in(fold_case("xx needle in a HAYSTACK xx")));
  EXPECT_FALSE(long_n.found_in(fold_case("xx needle in a HAYSTAC")));
  const text_needle copy = long_n;
  EXPECT_TRUE(copy.found_in("needle in a haystack"));
}

TEST(FoldedMatcher, FindsAcrossPieces) {
  const std::string text = fold_case("one two three four five six seven eight");
  for (const char* needle : {"three four", "o", "seven eight", "one", "two three four five"}) {
    const text_needle n(needle);
    for (size_t i = 0; i <= text.size(); ++i) {
      folded_matcher m(n);
      m.feed(std::string_view(text).substr(0, i));
      ASSERT_TRUE(m.feed(std::string_view(text).substr(i))) << needle << " split " << i;
    }
    folded_matcher bytes(n);
    for (char c : text) bytes.feed(std::string_view(&c, 1));
    EXPECT_TRUE(bytes.found()) << needle;
  }
  const text_needle missing("eight nine");
  folded_matcher m(missing);
  for (char c : text) m.feed(std::string_view(&c, 1));
  EXPECT_FALSE(m.found());
}

TEST(HeaderFieldContains, DecodedFoldedEveryOccurrence) {
  EXPECT_TRUE(header_has(simple, "Subject", "gr\u00fc\u00dfe"));
  EXPECT_TRUE(header_has(simple, "subject", "STRASSE"));  // ß folds to ss
  EXPECT_TRUE(header_has(simple, "SUBJECT", "aus der"));
  EXPECT_FALSE(header_has(simple, "Subject", "=?ISO"));  // the decoded text is searched
  EXPECT_TRUE(header_has(simple, "From", "J\u00d6RG"));
  EXPECT_TRUE(header_has(simple, "To", "bob@"));                // continuation line
  EXPECT_TRUE(header_has(simple, "To", "example.org, bob"));    // unfolded
  EXPECT_TRUE(header_has(simple, "Received", "c.example by"));  // second occurrence
  EXPECT_TRUE(header_has(simple, "Received", "a.example by"));
  EXPECT_TRUE(header_has(simple, "X-Spam-Flag", "yes"));  // blank before the colon
  EXPECT_FALSE(header_has(simple, "To", "Hello"));
  EXPECT_FALSE(header_has(simple, "Cc", "a"));
  // RFC 9051 §6.4.4: an empty string matches every message with the field.
  EXPECT_TRUE(header_has(simple, "X-Empty", ""));
  EXPECT_TRUE(header_has(simple, "Subject", ""));
  EXPECT_FALSE(header_has(simple, "Cc", ""));
  EXPECT_FALSE(header_has(simple, "Subjec", ""));
}

TEST(BodyAndText, SinglePart) {
  EXPECT_TRUE(body_has(simple, "b\u00d6b"));
  EXPECT_TRUE(body_has(simple, "stra\u00dfe"));
  EXPECT_FALSE(body_has(simple, "Received"));
  EXPECT_TRUE(body_has(simple, ""));
  EXPECT_TRUE(text_has(simple, "Received"));
  EXPECT_TRUE(text_has(simple, "subject: gr\u00fc\u00dfe"));  // "Name: value"
  EXPECT_TRUE(text_has(simple, "see you"));
  EXPECT_FALSE(text_has(simple, "nowhere"));
  // A needle does not span the header and the body, nor two fields.
  EXPECT_FALSE(text_has(simple, "X-Empty:Hello"));
  EXPECT_FALSE(text_has(simple, "bob@example.org Received"));
}

std::string multipart_message() {
  // text/html in ISO-8859-1, base64; a QP text/plain in UTF-8; an image whose
  // bytes happen to spell a word; an attached message.
  const std::string html = base::base64_encode(
      "<html><body><p>Das R\xe9sum\xe9 ist fertig, Gr\xf6\xdf"
      "e 42.</p></body></html>\r\n");
  const std::string image = base::base64_encode("GIF89a hidden-word \x01\x02\x03");
  return "From: a@example.org\r\n"
         "Subject: parts\r\n"
         "MIME-Version: 1.0\r\n"
         "Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n"
         "\r\n"
         "preamble-word\r\n"
         "--XYZ\r\n"
         "Content-Type: text/plain; charset=utf-8\r\n"
         "Content-Transfer-Encoding: quoted-printable\r\n"
         "\r\n"
         "Caf=C3=A9 au lait, soft=\r\n"
         "ly broken.\r\n"
         "--XYZ\r\n"
         "Content-Type: text/html; charset=\"ISO-8859-1\"\r\n"
         "Content-Transfer-Encoding: base64\r\n"
         "Content-Description: the =?utf-8?q?r=C3=A9sum=C3=A9?= page\r\n"
         "\r\n" +
         wrap76(html) +
         "--XYZ\r\n"
         "Content-Type: image/gif\r\n"
         "Content-Transfer-Encoding: base64\r\n"
         "\r\n" +
         wrap76(image) +
         "--XYZ\r\n"
         "Content-Type: message/rfc822\r\n"
         "\r\n"
         "Subject: =?koi8-r?b?8NLJ18XU?=\r\n"
         "From: inner@example.org\r\n"
         "\r\n"
         "Inner body text.\r\n"
         "--XYZ--\r\n"
         "epilogue-word\r\n";
}

TEST(BodyAndText, Multipart) {
  const std::string msg = multipart_message();
  const message_structure s = parse(msg);
  ASSERT_GE(s.parts.size(), 6u);
  // The base64 ISO-8859-1 HTML part, searched for a word in it.
  EXPECT_TRUE(body_contains(msg, s, text_needle("R\u00c9SUM\u00c9")));
  EXPECT_TRUE(body_contains(msg, s, text_needle("GR\u00d6SSE 42")));
  EXPECT_TRUE(body_contains(msg, s, text_needle("<p>das")));  // markup is text too
  // QP soft line break, UTF-8.
  EXPECT_TRUE(body_contains(msg, s, text_needle("softly broken")));
  EXPECT_TRUE(body_contains(msg, s, text_needle("caf\u00c9 AU")));
  // The encapsulated message: its header and its body.
  EXPECT_TRUE(body_contains(msg, s, text_needle("\u043f\u0420\u0418\u0432\u0435\u0442")));
  EXPECT_TRUE(body_contains(msg, s, text_needle("inner@example")));
  EXPECT_TRUE(body_contains(msg, s, text_needle("inner body")));
  // Not searched: non-text bodies, preamble, epilogue, raw encodings, headers.
  EXPECT_FALSE(body_contains(msg, s, text_needle("hidden-word")));
  EXPECT_FALSE(body_contains(msg, s, text_needle("preamble-word")));
  EXPECT_FALSE(body_contains(msg, s, text_needle("epilogue-word")));
  EXPECT_FALSE(body_contains(msg, s, text_needle("=C3=A9")));
  EXPECT_FALSE(body_contains(msg, s, text_needle("parts")));
  EXPECT_FALSE(body_contains(msg, s, text_needle("quoted-printable")));
  // TEXT adds every header: top-level, part headers (decoded), inner message.
  EXPECT_TRUE(text_contains(msg, s, text_needle("Subject: parts")));
  EXPECT_TRUE(text_contains(msg, s, text_needle("the r\u00e9sum\u00e9 page")));
  EXPECT_TRUE(text_contains(msg, s, text_needle("quoted-printable")));
  EXPECT_TRUE(text_contains(msg, s, text_needle("\u043f\u0440\u0438\u0432\u0435\u0442")));
  EXPECT_TRUE(text_contains(msg, s, text_needle("GR\u00d6SSE")));
  EXPECT_FALSE(text_contains(msg, s, text_needle("hidden-word")));
  // HEADER looks at the top-level header only.
  EXPECT_TRUE(header_field_contains(msg, s, "Subject", text_needle("parts")));
  EXPECT_FALSE(header_field_contains(msg, s, "Subject", text_needle("\u043f\u0440\u0438")));
  EXPECT_FALSE(header_field_contains(msg, s, "Content-Description", text_needle("")));
}

TEST(BodyAndText, LargePartNeedleAcrossEveryPieceBoundary) {
  // A base64 text part of ~300 KB decoded: the needle is placed across the 64 KiB
  // piece boundaries of the raw and of the decoded text.
  std::string text(300000, 'x');
  for (size_t i = 0; i < text.size(); i += 70) text[i] = '\n';
  const std::string needle = "Needle\u00dfText";
  for (size_t at : {size_t{0}, size_t{49150}, size_t{49152 - 5}, size_t{65536 - 3},
                    size_t{65536 * 2 - 7}, size_t{299000}}) {
    std::string body = text;
    body.replace(at, needle.size(), needle);
    const std::string msg =
        "Subject: big\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" +
        wrap76(base::base64_encode(body));
    EXPECT_TRUE(body_has(msg, "NEEDLESSTEXT")) << at;
    EXPECT_FALSE(body_has(msg, "NEEDLESSTEXTQ")) << at;
    const std::string plain = "Subject: big\r\n\r\n" + body;
    EXPECT_TRUE(body_has(plain, "needlesstext")) << at;
  }
}

TEST(BodyAndText, CharsetsOfParts) {
  auto part_msg = [](std::string_view charset, std::string_view cte, const std::string& body) {
    return "Content-Type: text/plain; charset=" + std::string(charset) +
           "\r\nContent-Transfer-Encoding: " + std::string(cte) + "\r\n\r\n" + body;
  };
  EXPECT_TRUE(
      body_has(part_msg("koi8-r", "8bit", "\xf0\xd2\xc9\xd7\xc5\xd4"), "\u043f\u0440\u0438"));
  EXPECT_TRUE(
      body_has(part_msg("Shift_JIS", "base64", base::base64_encode("\x93\xfa\x96\x7b\x8c\xea")),
               "\u672c\u8a9e"));
  EXPECT_TRUE(body_has(part_msg("windows-1252", "quoted-printable", "=80 5 =93quoted=94"),
                       "\u20ac 5 \u201cquoted"));
  EXPECT_TRUE(body_has(part_msg("x-unknown", "8bit", "caf\xe9"), "CAF\u00c9"));
  EXPECT_TRUE(body_has(part_msg("utf-8", "x-uuencode", "raw text"), "RAW"));  // unknown CTE: as is
  EXPECT_TRUE(body_has("Subject: x\r\n\r\nno content type \xc3\xa9", "E \u00c9"));
  // A text entity inside a multipart with no boundary found: not a text part.
  EXPECT_FALSE(body_has("Content-Type: application/pdf\r\n\r\nword", "word"));
}

TEST(BodyAndText, StaleOffsetsAreCut) {
  message_structure s = parse(simple);
  s.parts[0].body_size = 1 << 30;
  s.parts[0].body_offset = simple.size() - 6;
  EXPECT_TRUE(body_contains(simple, s, text_needle("SSE.")));
  s.parts[0].header_offset = 1 << 30;
  s.parts[0].body_offset = 1 << 30;
  EXPECT_FALSE(text_contains(simple, s, text_needle("zzz")));
  message_structure empty;
  EXPECT_FALSE(header_field_contains(simple, empty, "Subject", text_needle("")));
  EXPECT_FALSE(body_contains(simple, empty, text_needle("a")));
}

}  // namespace
}  // namespace postern::mime
