// The text the full-text index keeps (search_document), HTML reduced to text
// (html_text) and search folding (search_fold).
#include "mime/search_document.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "mime/html_text.hpp"
#include "mime/search_fold.hpp"

namespace postern::mime {

namespace {
search_document doc_of(const std::string& message) {
  return make_search_document(message, parse(message));
}
bool has(const std::string& field, std::string_view needle) {
  return field.find(search_fold(needle)) != std::string::npos;
}
}  // namespace

TEST(SearchFold, CaseAndAccentsOffLatinGreekCyrillic) {
  EXPECT_EQ(search_fold("CAF\u00c9"), "cafe");
  EXPECT_EQ(search_fold("cafe\u0301"), "cafe");  // decomposed
  EXPECT_EQ(search_fold("Stra\u00dfe"), "strasse");
  EXPECT_EQ(search_fold("\u0395\u039b\u039b\u0397\u039d\u0399\u039a\u0386"),
            search_fold("\u03b5\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac"));
  EXPECT_EQ(search_fold("\u0419"), search_fold("\u0438"));  // Й to и: the breve goes
  EXPECT_EQ(search_fold("plain ASCII"), "plain ascii");
}

TEST(SearchFold, MarksThatSpellOtherScriptsStay) {
  // Hiragana が is か plus a voicing mark: a different word without it.
  EXPECT_EQ(search_fold("\u304c"), "\u304c");
  // Devanagari कि keeps its vowel sign.
  EXPECT_EQ(search_fold("\u0915\u093f"), "\u0915\u093f");
}

TEST(SearchFold, IllFormedUtf8BecomesReplacementCharacter) {
  EXPECT_EQ(search_fold("a\xff"
                        "b"),
            "a\ufffdb");
}

TEST(SearchFold, FuzzyTrigramsAndScores) {
  EXPECT_EQ(trigrams("abcd"), (std::vector<std::string>{"abc", "bcd"}));
  EXPECT_EQ(trigrams("aaaa"), (std::vector<std::string>{"aaa"}));  // distinct
  EXPECT_TRUE(trigrams("ab").empty());
  EXPECT_EQ(trigrams("\u00e9t\u00e9s").size(), 2u);  // characters, not bytes
  EXPECT_EQ(fuzzy_match("we receive mail", "receive"), 100);
  // "recieve": rec eci cie iev eve; "receive" holds rec, eve and... 2 of 5.
  EXPECT_EQ(fuzzy_match("we receive mail", "recieve"), 0);
  EXPECT_GT(fuzzy_match("the quarterly report", "quartely report"), 0);  // one letter dropped
  EXPECT_LT(fuzzy_match("the quarterly report", "quartely report"), 100);
  EXPECT_EQ(fuzzy_match("nothing alike", "quarterly"), 0);
  EXPECT_EQ(fuzzy_match("xy here", "xy"), 100);  // too short for trigrams: exact
  EXPECT_EQ(fuzzy_match("x y", "xy"), 0);
  // A needle too long to look up trigram by trigram is matched exactly.
  std::string long_needle;
  for (int i = 0; i < 400; ++i) long_needle += static_cast<char>('a' + i % 26) + std::to_string(i);
  EXPECT_EQ(fuzzy_match("xx" + long_needle + "yy", long_needle), 100);
  EXPECT_EQ(fuzzy_match(long_needle.substr(1), long_needle), 0);
}

TEST(SearchFold, WordsAreRunsOfLettersMarksAndDigits) {
  EXPECT_EQ(
      words_of("hello, w\u00f6rld_x2 \u0928\u092e\u0938\u094d\u0924\u0947 a@b.org"),
      (std::vector<std::string_view>{"hello", "w\u00f6rld", "x2",
                                     "\u0928\u092e\u0938\u094d\u0924\u0947", "a", "b", "org"}));
  EXPECT_TRUE(words_of(" -- \x1f ").empty());
}

TEST(SearchFold, FuzzyMatchesWordByWord) {
  // Every word of the needle must be matched by a word of the text.
  EXPECT_GT(fuzzy_match("the quarterly numbers and the report", "quartely report"), 0);
  EXPECT_EQ(fuzzy_match("the quarterly numbers", "quartely report"), 0);
  // Trigrams are not gathered across words: "quarterly" is not in "quar terly".
  EXPECT_EQ(fuzzy_match("quar terly", "quarterly"), 0);
  // A needle of separators only is matched as it is.
  EXPECT_EQ(fuzzy_match("a -- b", " -- "), 100);
  EXPECT_EQ(fuzzy_match("a - b", " -- "), 0);
}

TEST(HtmlText, TagsScriptsStylesAndReferences) {
  EXPECT_EQ(html_to_text("<p>Hello <b>wor</b>ld</p><p>next</p>"), "Hello world next");
  EXPECT_EQ(html_to_text("<style>p{color:red}</style><script>var x='<p>';</script>Text"), "Text");
  EXPECT_EQ(html_to_text("AT&amp;T &lt;tag&gt; caf&eacute; &#233;&#xE9; &euro;5 a&nbsp;b"),
            "AT&T <tag> caf\u00e9 \u00e9\u00e9 \u20ac5 a b");
  EXPECT_EQ(html_to_text("x &unknown; y &"), "x &unknown; y &");
  EXPECT_EQ(html_to_text("a<!-- hidden -->b<br>c"), "ab c");
  EXPECT_EQ(html_to_text("<TITLE>Title</TITLE><BODY>one<BR/>two</BODY>"), "Title one two");
}

TEST(HtmlText, UnclosedConstructsEndTheText) {
  EXPECT_EQ(html_to_text("before<script>never closed"), "before");
  EXPECT_EQ(html_to_text("before<!-- never closed"), "before");
  EXPECT_EQ(html_to_text("before <b"), "before");
  EXPECT_EQ(html_to_text("&#99999999999;x"),
            "\ufffd"
            "999;x");  // eight digits at most
}

TEST(SearchDocument, HeadersBodiesCharsetsAndNames) {
  const std::string m =
      "From: =?ISO-8859-1?Q?J=F6rg_M=FCller?= <joerg (work) @ example.org>\r\n"
      "To: Ann <ann@example.com>\r\n"
      "Subject: =?UTF-8?B?0J/RgNC40LLQtdGC?= report\r\n"
      "X-Custom: Searchable-Header-Value\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
      "--b\r\n"
      "Content-Type: multipart/alternative; boundary=c\r\n\r\n"
      "--c\r\n"
      "Content-Type: text/plain; charset=iso-8859-1\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
      "Gr=FC=DFe aus K=F6ln\r\n"
      "--c\r\n"
      "Content-Type: text/html; charset=utf-8\r\n\r\n"
      "<div>Html <i>only</i>words &amp; more</div>\r\n"
      "--c--\r\n"
      "--b\r\n"
      "Content-Type: text/plain; charset=koi8-r\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n"
      "8NLJ18XU\r\n"
      "--b\r\n"
      "Content-Type: application/pdf; name=\"quarterly-figures.pdf\"\r\n"
      "Content-Disposition: attachment; filename=\"quarterly-figures.pdf\"\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n"
      "JVBERi0xLjQKc2VjcmV0d29yZAo=\r\n"
      "--b--\r\n";
  auto d = doc_of(m);
  EXPECT_TRUE(has(d.from, "jorg muller"));
  EXPECT_TRUE(has(d.from, "joerg@example.org"));  // bare address
  EXPECT_TRUE(has(d.to, "ann@example.com"));
  EXPECT_TRUE(has(d.subject, "\u043f\u0440\u0438\u0432\u0435\u0442 report"));
  EXPECT_TRUE(has(d.headers, "x-custom: searchable-header-value"));
  EXPECT_TRUE(has(d.body, "GRUSSE aus koln"));
  EXPECT_TRUE(has(d.body, "html onlywords & more"));
  EXPECT_FALSE(has(d.body, "<div>"));
  EXPECT_TRUE(has(d.body, "\u043f\u0440\u0438\u0432\u0435\u0442")) << d.body;  // KOI8-R base64
  EXPECT_TRUE(has(d.body, "quarterly-figures.pdf"));
  EXPECT_FALSE(has(d.body, "secretword"));  // a PDF's bytes are not text
  EXPECT_FALSE(has(d.body, "x-custom"));    // top-level fields are not body
  EXPECT_EQ(d.preview, "Gr\u00fc\u00dfe aus K\u00f6ln");
  EXPECT_FALSE(d.truncated);
}

// The tricky-message corpus: one text part per charset (bytes as a mail
// client of that region writes them), a broken base64 part, nested messages.
TEST(SearchDocument, CharsetsBrokenEncodingsAndNestedMessages) {
  struct sample {
    const char* charset;
    std::string bytes;     // the body in that charset
    std::string expected;  // what a search for it types, UTF-8
  };
  const std::vector<sample> samples = {
      {"windows-1252", "na\xefve r\xe9sum\xe9 \x80 5", "naive resume \u20ac 5"},
      {"windows-1251", "\xcf\xf0\xe8\xe2\xe5\xf2", "\u043f\u0440\u0438\u0432\u0435\u0442"},
      {"windows-1250",
       "\x8ailer \xe8"
       "esk\xfd",
       "siler cesky"},
      {"iso-8859-2", "\xa9ilerov\xe1 \xb9koda", "silerova skoda"},
      {"iso-8859-7", "\xc1\xe8\xde\xed\xe1", "\u03b1\u03b8\u03b7\u03bd\u03b1"},
      {"shift_jis", "\x93\xfa\x96\x7b\x8c\xea", "\u65e5\u672c\u8a9e"},
      {"gb2312", "\xd6\xd0\xce\xc4", "\u4e2d\u6587"},
      {"koi8-r", "\xf0\xd2\xc9\xd7\xc5\xd4", "\u043f\u0440\u0438\u0432\u0435\u0442"},
      {"utf-8", "Gr\xc3\xbc\xc3\x9f Gott", "gruss gott"},
  };
  for (auto& sm : samples) {
    std::string m = std::string("Content-Type: text/plain; charset=") + sm.charset +
                    "\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + sm.bytes + "\r\n";
    auto d = doc_of(m);
    EXPECT_TRUE(has(d.body, sm.expected)) << sm.charset << ": " << d.body;
  }
  // Broken base64 (a stray character, no padding) decodes what it can.
  auto broken = doc_of(
      "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
      "aGVsbG8gd29y!bGQgYWdhaW4\r\n");
  EXPECT_TRUE(has(broken.body, "hello wor")) << broken.body;
  // A message inside a message inside a message: every level's text and header.
  auto nested = doc_of(
      "Subject: outer\r\nContent-Type: message/rfc822\r\n\r\n"
      "Subject: middle\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n"
      "--x\r\nContent-Type: text/plain\r\n\r\nmiddle text\r\n"
      "--x\r\nContent-Type: message/rfc822\r\n\r\n"
      "Subject: innermost\r\nContent-Type: text/html\r\n\r\n<p>deep &amp; down</p>\r\n"
      "--x--\r\n");
  EXPECT_TRUE(has(nested.body, "subject: middle"));
  EXPECT_TRUE(has(nested.body, "subject: innermost"));
  EXPECT_TRUE(has(nested.body, "middle text"));
  EXPECT_TRUE(has(nested.body, "deep & down"));
  EXPECT_EQ(nested.preview, "middle text");
}

TEST(SearchDocument, PiecesNeverJoin) {
  const std::string m =
      "Subject: alpha\r\nSubject: beta\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\nend of one\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\nstart of two\r\n--b--\r\n";
  auto d = doc_of(m);
  EXPECT_TRUE(has(d.subject, "alpha"));
  EXPECT_TRUE(has(d.subject, "beta"));
  EXPECT_FALSE(has(d.subject, "alphabeta"));
  EXPECT_FALSE(has(d.subject, "alpha beta"));
  EXPECT_FALSE(has(d.body, "one\r\nstart"));
  EXPECT_EQ(d.body.find("\x1f\x1f"), std::string::npos);
}

TEST(SearchDocument, EncapsulatedMessageHeaderIsBodyText) {
  const std::string m =
      "Subject: outer\r\nContent-Type: message/rfc822\r\n\r\n"
      "Subject: inner subject\r\nFrom: inner@example.org\r\n\r\ninner body\r\n";
  auto d = doc_of(m);
  EXPECT_TRUE(has(d.body, "subject: inner subject"));
  EXPECT_TRUE(has(d.body, "inner body"));
  EXPECT_FALSE(has(d.subject, "inner"));
}

TEST(SearchDocument, LimitCutsAndSaysSo) {
  std::string m = "Subject: big\r\n\r\n";
  for (int i = 0; i < 2000; ++i) m += "line of text number " + std::to_string(i) + "\r\n";
  auto d = make_search_document(m, parse(m), 1000);
  EXPECT_TRUE(d.truncated);
  EXPECT_LE(d.body.size(), 1000u);
  EXPECT_FALSE(doc_of(m).truncated);
}

TEST(SearchDocument, PreviewCollapsesAndCutsAtCharacters) {
  std::string text(300, 'x');
  text.replace(0, 6, "\u00e9\u00e9\u00e9");
  auto p = make_preview("  a \r\n\t b  " + text);
  EXPECT_EQ(p.substr(0, 4), "a b ");
  size_t chars = 0;
  for (char c : p) chars += (c & 0xC0) != 0x80;
  EXPECT_EQ(chars, max_preview_chars);
  EXPECT_EQ(make_preview(""), "");
}

}  // namespace postern::mime
