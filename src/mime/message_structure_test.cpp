#include "mime/message_structure.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace postern::mime {
namespace {

using namespace std::string_literals;

// Fixtures are written with "\n" and stored, as messages are, with CRLF.
std::string crlf(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

std::string body_of(const std::string& msg, const part& p) {
  return msg.substr(p.body_offset, p.body_size);
}

std::string mime_header_of(const std::string& msg, const part& p) {
  return msg.substr(p.header_offset, p.body_offset - p.header_offset);
}

std::vector<std::string> sections(const message_structure& s) {
  std::vector<std::string> out;
  for (const part& p : s.parts) out.push_back(p.section);
  return out;
}

uint32_t count_lines(std::string_view body) {
  if (body.empty()) return 0;
  uint32_t n = 0;
  for (char c : body) n += c == '\n';
  return body.back() == '\n' ? n : n + 1;
}

void expect_same(const message_structure& a, const message_structure& b) {
  EXPECT_EQ(a.header_size, b.header_size);
  EXPECT_EQ(a.body_lines, b.body_lines);
  EXPECT_EQ(a.subject, b.subject);
  EXPECT_EQ(a.from, b.from);
  EXPECT_EQ(a.sender, b.sender);
  EXPECT_EQ(a.reply_to, b.reply_to);
  EXPECT_EQ(a.to, b.to);
  EXPECT_EQ(a.cc, b.cc);
  EXPECT_EQ(a.bcc, b.bcc);
  EXPECT_EQ(a.date, b.date);
  EXPECT_EQ(a.message_id, b.message_id);
  EXPECT_EQ(a.in_reply_to, b.in_reply_to);
  ASSERT_EQ(a.parts.size(), b.parts.size());
  for (size_t i = 0; i < a.parts.size(); ++i) {
    const part& x = a.parts[i];
    const part& y = b.parts[i];
    SCOPED_TRACE("part " + std::to_string(i));
    EXPECT_EQ(x.section, y.section);
    EXPECT_EQ(x.content_type, y.content_type);
    EXPECT_EQ(x.charset, y.charset);
    EXPECT_EQ(x.boundary, y.boundary);
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.disposition, y.disposition);
    EXPECT_EQ(x.transfer_encoding, y.transfer_encoding);
    EXPECT_EQ(x.content_id, y.content_id);
    EXPECT_EQ(x.description, y.description);
    EXPECT_EQ(x.type_params, y.type_params);
    EXPECT_EQ(x.disposition_params, y.disposition_params);
    EXPECT_EQ(x.language, y.language);
    EXPECT_EQ(x.location, y.location);
    EXPECT_EQ(x.md5, y.md5);
    EXPECT_EQ(x.envelope, y.envelope);
    EXPECT_EQ(x.header_offset, y.header_offset);
    EXPECT_EQ(x.body_offset, y.body_offset);
    EXPECT_EQ(x.body_size, y.body_size);
    EXPECT_EQ(x.body_lines, y.body_lines);
  }
}

// What must hold for any input, however broken.
void expect_sane(std::string_view msg, const message_structure& s) {
  ASSERT_FALSE(s.parts.empty());
  const part& top = s.parts[0];
  EXPECT_EQ(top.section, "");
  EXPECT_EQ(top.header_offset, 0u);
  EXPECT_EQ(s.header_size, top.body_offset);
  EXPECT_EQ(top.body_offset + top.body_size, msg.size());
  EXPECT_EQ(s.body_lines, top.body_lines);
  EXPECT_LE(s.parts.size(), 10000u);
  for (size_t i = 0; i < s.parts.size(); ++i) {
    const part& p = s.parts[i];
    SCOPED_TRACE("part " + std::to_string(i) + " section " + p.section);
    ASSERT_LE(p.header_offset, p.body_offset);
    ASSERT_LE(p.body_offset + p.body_size, msg.size());
    EXPECT_EQ(p.body_lines, count_lines(msg.substr(p.body_offset, p.body_size)));
    EXPECT_NE(p.content_type.find('/'), std::string::npos);
    EXPECT_FALSE(p.transfer_encoding.empty());
    if (i == 0) continue;
    // Every entity lies inside the body of an entity listed before it.
    bool inside = false;
    for (size_t k = 0; k < i && !inside; ++k) {
      const part& o = s.parts[k];
      inside = o.body_offset <= p.header_offset &&
               p.body_offset + p.body_size <= o.body_offset + o.body_size;
    }
    EXPECT_TRUE(inside);
  }
  message_structure back;
  ASSERT_TRUE(deserialize(serialize(s), back));
  expect_same(s, back);
}

const std::string simple = crlf(
    "From: Alice <alice@example.org>\n"
    "To: bob@example.org\n"
    "Subject: Hello\n"
    "Date: Mon, 1 Jan 2024 10:00:00 +0000\n"
    "Message-ID: <1@example.org>\n"
    "\n"
    "Hi Bob,\n"
    "how are you?\n");

TEST(MimeParse, SimpleTextMessage) {
  const message_structure s = parse(simple);
  EXPECT_EQ(s.from, "Alice <alice@example.org>");
  EXPECT_EQ(s.to, "bob@example.org");
  EXPECT_EQ(s.subject, "Hello");
  EXPECT_EQ(s.date, "Mon, 1 Jan 2024 10:00:00 +0000");
  EXPECT_EQ(s.message_id, "<1@example.org>");
  EXPECT_EQ(s.cc, "");
  EXPECT_EQ(s.in_reply_to, "");
  const size_t blank = simple.find("\r\n\r\n");
  EXPECT_EQ(s.header_size, blank + 4);
  EXPECT_EQ(s.body_lines, 2u);
  ASSERT_EQ(s.parts.size(), 1u);
  const part& p = s.parts[0];
  EXPECT_EQ(p.content_type, "text/plain");
  EXPECT_EQ(p.transfer_encoding, "7bit");
  EXPECT_EQ(body_of(simple, p), "Hi Bob,\r\nhow are you?\r\n");
  expect_sane(simple, s);
}

const std::string mixed = crlf(
    "From: a@example.org\n"
    "Subject: report\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"XYZ\"\n"
    "\n"
    "This is a multi-part message in MIME format.\n"
    "--XYZ\n"
    "Content-Type: text/plain; charset=UTF-8\n"
    "Content-Transfer-Encoding: Quoted-Printable\n"
    "\n"
    "See attached.\n"
    "Bye\n"
    "--XYZ\n"
    "Content-Type: application/pdf; name=\"r.pdf\"\n"
    "Content-Disposition: ATTACHMENT; filename=\"report.pdf\"\n"
    "Content-Transfer-Encoding: base64\n"
    "Content-ID: <pdf@x>\n"
    "Content-Description: the report\n"
    "\n"
    "JVBERi0xLjQK\n"
    "AAAA\n"
    "--XYZ--\n"
    "epilogue\n");

TEST(MimeParse, MultipartMixedWithAttachment) {
  const message_structure s = parse(mixed);
  ASSERT_EQ(sections(s), (std::vector<std::string>{"", "1", "2"}));
  const part& top = s.parts[0];
  EXPECT_EQ(top.content_type, "multipart/mixed");
  EXPECT_EQ(top.boundary, "XYZ");
  EXPECT_EQ(body_of(mixed, top), mixed.substr(mixed.find("This is")));

  const part& text = s.parts[1];
  EXPECT_EQ(text.content_type, "text/plain");
  EXPECT_EQ(text.charset, "UTF-8");
  EXPECT_EQ(text.transfer_encoding, "quoted-printable");
  EXPECT_EQ(mime_header_of(mixed, text),
            "Content-Type: text/plain; charset=UTF-8\r\n"
            "Content-Transfer-Encoding: Quoted-Printable\r\n\r\n");
  // RFC 2046 §5.1.1: the CRLF before "--XYZ" belongs to the delimiter.
  EXPECT_EQ(body_of(mixed, text), "See attached.\r\nBye");
  EXPECT_EQ(text.body_lines, 2u);

  const part& pdf = s.parts[2];
  EXPECT_EQ(pdf.content_type, "application/pdf");
  EXPECT_EQ(pdf.name, "report.pdf");  // the filename wins over the name
  EXPECT_EQ(pdf.disposition, "attachment");
  EXPECT_EQ(pdf.transfer_encoding, "base64");
  EXPECT_EQ(pdf.content_id, "<pdf@x>");
  EXPECT_EQ(pdf.description, "the report");
  EXPECT_EQ(mixed.substr(pdf.header_offset, 13), "Content-Type:");
  EXPECT_EQ(body_of(mixed, pdf), "JVBERi0xLjQK\r\nAAAA");
  EXPECT_EQ(pdf.body_lines, 2u);
  expect_sane(mixed, s);
}

const std::string nested = crlf(
    "Subject: nested\n"
    "Content-Type: multipart/mixed; boundary=outer\n"
    "\n"
    "--outer\n"
    "Content-Type: multipart/alternative; boundary=\"inner\"\n"
    "\n"
    "--inner\n"
    "Content-Type: text/plain\n"
    "\n"
    "plain\n"
    "--inner\n"
    "Content-Type: text/html\n"
    "\n"
    "<p>html</p>\n"
    "--inner--\n"
    "\n"
    "--outer\n"
    "Content-Type: image/png\n"
    "\n"
    "PNG\n"
    "--outer--\n");

TEST(MimeParse, NestedAlternativeInsideMixed) {
  const message_structure s = parse(nested);
  ASSERT_EQ(sections(s), (std::vector<std::string>{"", "1", "1.1", "1.2", "2"}));
  EXPECT_EQ(s.parts[1].content_type, "multipart/alternative");
  EXPECT_EQ(s.parts[1].boundary, "inner");
  // The inner multipart's body runs to the outer delimiter: its close-delimiter
  // and the (empty) epilogue line are part of it.
  EXPECT_EQ(body_of(nested, s.parts[1]),
            "--inner\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
            "--inner\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--inner--\r\n");
  EXPECT_EQ(body_of(nested, s.parts[2]), "plain");
  EXPECT_EQ(s.parts[2].content_type, "text/plain");
  EXPECT_EQ(body_of(nested, s.parts[3]), "<p>html</p>");
  EXPECT_EQ(s.parts[3].content_type, "text/html");
  EXPECT_EQ(body_of(nested, s.parts[4]), "PNG");
  EXPECT_EQ(s.parts[4].content_type, "image/png");
  expect_sane(nested, s);
}

TEST(MimeParse, CloseDelimiterRightBeforeOuterDelimiter) {
  const std::string msg = crlf(
      "Content-Type: multipart/mixed; boundary=a\n"
      "\n"
      "--a\n"
      "Content-Type: multipart/alternative; boundary=b\n"
      "\n"
      "--b\n"
      "\n"
      "x\n"
      "--b--\n"
      "--a--\n");
  const message_structure s = parse(msg);
  ASSERT_EQ(sections(s), (std::vector<std::string>{"", "1", "1.1"}));
  // The CRLF after "--b--" is the one that starts the outer delimiter.
  EXPECT_EQ(body_of(msg, s.parts[1]), "--b\r\n\r\nx\r\n--b--");
  EXPECT_EQ(body_of(msg, s.parts[2]), "x");
  EXPECT_EQ(mime_header_of(msg, s.parts[2]), "\r\n");
  expect_sane(msg, s);
}

const std::string forwarded = crlf(
    "Subject: Fwd\n"
    "Content-Type: multipart/mixed; boundary=b1\n"
    "\n"
    "--b1\n"
    "\n"
    "see below\n"
    "--b1\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "Subject: inner\n"
    "From: c@example.org\n"
    "Content-Type: multipart/alternative; boundary=b2\n"
    "\n"
    "--b2\n"
    "\n"
    "inner text\n"
    "--b2\n"
    "Content-Type: text/html\n"
    "\n"
    "<b>inner</b>\n"
    "--b2--\n"
    "--b1\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "Subject: single\n"
    "\n"
    "single body\n"
    "--b1--\n");

TEST(MimeParse, MessageRfc822Numbering) {
  const message_structure s = parse(forwarded);
  EXPECT_EQ(s.subject, "Fwd");  // never an inner message's
  // RFC 9051 §6.4.5: the rfc822 part is "2"; its multipart body has no number of
  // its own (it shares "2") and its children are "2.1", "2.2"; a single-part
  // inner body is "3.1".
  ASSERT_EQ(sections(s), (std::vector<std::string>{"", "1", "2", "2", "2.1", "2.2", "3", "3.1"}));
  const part& rfc822 = s.parts[2];
  EXPECT_EQ(rfc822.content_type, "message/rfc822");
  const part& inner = s.parts[3];
  EXPECT_EQ(inner.content_type, "multipart/alternative");
  EXPECT_EQ(inner.header_offset, rfc822.body_offset);
  EXPECT_EQ(mime_header_of(forwarded, inner),
            "Subject: inner\r\nFrom: c@example.org\r\n"
            "Content-Type: multipart/alternative; boundary=b2\r\n\r\n");
  // The encapsulated message ends where its container does.
  EXPECT_EQ(inner.body_offset + inner.body_size, rfc822.body_offset + rfc822.body_size);
  EXPECT_EQ(body_of(forwarded, rfc822).substr(0, 15), "Subject: inner\r");
  EXPECT_TRUE(body_of(forwarded, rfc822).ends_with("--b2--"));
  EXPECT_EQ(body_of(forwarded, s.parts[4]), "inner text");
  EXPECT_EQ(body_of(forwarded, s.parts[5]), "<b>inner</b>");
  EXPECT_EQ(s.parts[5].content_type, "text/html");

  const part& single = s.parts[7];
  EXPECT_EQ(single.content_type, "text/plain");
  EXPECT_EQ(mime_header_of(forwarded, single), "Subject: single\r\n\r\n");
  EXPECT_EQ(body_of(forwarded, single), "single body");
  EXPECT_EQ(body_of(forwarded, s.parts[6]), "Subject: single\r\n\r\nsingle body");
  expect_sane(forwarded, s);
}

TEST(MimeParse, EncodedMessageRfc822IsOpaque) {
  // RFC 2046 §5.2.1 allows only 7bit/8bit/binary; a base64 one cannot be walked.
  const std::string msg = crlf(
      "Content-Type: message/rfc822\n"
      "Content-Transfer-Encoding: base64\n"
      "\n"
      "U3ViamVjdDogeA0KDQp5DQo=\n");
  const message_structure s = parse(msg);
  ASSERT_EQ(s.parts.size(), 1u);
  EXPECT_EQ(s.parts[0].content_type, "message/rfc822");
  EXPECT_EQ(s.parts[0].transfer_encoding, "base64");
}

TEST(MimeParse, TopLevelMessageRfc822) {
  const std::string msg = crlf("Content-Type: message/rfc822\n\nSubject: in\n\nbody\n");
  const message_structure s = parse(msg);
  ASSERT_EQ(sections(s), (std::vector<std::string>{"", "1"}));
  EXPECT_EQ(body_of(msg, s.parts[1]), "body\r\n");
  EXPECT_EQ(s.subject, "");
  expect_sane(msg, s);
}

TEST(MimeParse, NoBlankLineIsAllHeader) {
  const std::string msg = "Subject: only a header\r\nFrom: x@example.org\r\n";
  const message_structure s = parse(msg);
  EXPECT_EQ(s.header_size, msg.size());
  EXPECT_EQ(s.body_lines, 0u);
  ASSERT_EQ(s.parts.size(), 1u);
  EXPECT_EQ(s.parts[0].body_offset, msg.size());
  EXPECT_EQ(s.parts[0].body_size, 0u);
  EXPECT_EQ(s.subject, "only a header");
  EXPECT_EQ(s.from, "x@example.org");
  expect_sane(msg, s);

  const std::string unterminated = "Subject: x";
  const message_structure u = parse(unterminated);
  EXPECT_EQ(u.header_size, unterminated.size());
  EXPECT_EQ(u.subject, "x");
  expect_sane(unterminated, u);
}

TEST(MimeParse, EmptyAndBlankMessages) {
  for (const std::string msg : {"", "\r\n", "\n", "\r\n\r\n", "\r", "x"}) {
    SCOPED_TRACE(testing::PrintToString(msg));
    const message_structure s = parse(msg);
    expect_sane(msg, s);
  }
  EXPECT_EQ(parse("\r\nbody").header_size, 2u);
  EXPECT_EQ(parse("\r\nbody").body_lines, 1u);
}

TEST(MimeParse, BareLfInput) {
  std::string msg = mixed;
  std::erase(msg, '\r');
  const message_structure s = parse(msg);
  ASSERT_EQ(sections(s), (std::vector<std::string>{"", "1", "2"}));
  EXPECT_EQ(s.header_size, msg.find("\n\n") + 2);
  EXPECT_EQ(body_of(msg, s.parts[1]), "See attached.\nBye");
  EXPECT_EQ(body_of(msg, s.parts[2]), "JVBERi0xLjQK\nAAAA");
  EXPECT_EQ(s.parts[2].name, "report.pdf");
  expect_sane(msg, s);
}

TEST(MimeParse, HeaderFolding) {
  const std::string msg = crlf(
      "Subject: a long\n"
      "\tsubject line\n"
      "  continued\n"
      "To:   bob@example.org  \n"
      "Content-Type: multipart/mixed;\n"
      " boundary=\"folded\"\n"
      "Subject: second subject is ignored\n"
      "\n"
      "--folded\n"
      "Content-Type: text/plain;\n"
      "\tcharset=\"iso-8859-1\"\n"
      "\n"
      "x\n"
      "--folded--\n");
  const message_structure s = parse(msg);
  EXPECT_EQ(s.subject, "a long\tsubject line  continued");
  EXPECT_EQ(s.to, "bob@example.org");
  ASSERT_EQ(s.parts.size(), 2u);
  EXPECT_EQ(s.parts[0].boundary, "folded");
  EXPECT_EQ(s.parts[1].charset, "iso-8859-1");
  EXPECT_EQ(body_of(msg, s.parts[1]), "x");
  expect_sane(msg, s);
}

TEST(MimeParse, HeaderValuesStayRaw) {
  const std::string msg = crlf(
      "Subject: =?UTF-8?B?w6Q=?=\n"
      "From : \"A\" <a@b>\n"
      "Reply-To: r@b\n"
      "Sender: s@b\n"
      "Cc: c@b\n"
      "Bcc: d@b\n"
      "In-Reply-To: <0@b>\n"
      "X-Other: ignored\n"
      "\n");
  const message_structure s = parse(msg);
  EXPECT_EQ(s.subject, "=?UTF-8?B?w6Q=?=");
  EXPECT_EQ(s.from, "\"A\" <a@b>");
  EXPECT_EQ(s.reply_to, "r@b");
  EXPECT_EQ(s.sender, "s@b");
  EXPECT_EQ(s.cc, "c@b");
  EXPECT_EQ(s.bcc, "d@b");
  EXPECT_EQ(s.in_reply_to, "<0@b>");
  EXPECT_EQ(s.header_size, msg.size());
  EXPECT_EQ(s.parts[0].body_size, 0u);
}

TEST(MimeParse, MissingContentTypeDefaults) {
  const std::string msg = crlf(
      "Content-Type: multipart/digest; boundary=d\n"
      "\n"
      "--d\n"
      "\n"
      "Subject: digest one\n"
      "\n"
      "one\n"
      "--d\n"
      "Content-Type: text/plain\n"
      "\n"
      "two\n"
      "--d--\n");
  const message_structure s = parse(msg);
  // RFC 2046 §5.1.5: parts of a digest default to message/rfc822.
  ASSERT_EQ(sections(s), (std::vector<std::string>{"", "1", "1.1", "2"}));
  EXPECT_EQ(s.parts[1].content_type, "message/rfc822");
  EXPECT_EQ(s.parts[1].transfer_encoding, "7bit");
  EXPECT_EQ(body_of(msg, s.parts[2]), "one");
  EXPECT_EQ(s.parts[2].content_type, "text/plain");
  EXPECT_EQ(s.parts[3].content_type, "text/plain");

  const message_structure plain = parse("Subject: x\r\n\r\nbody\r\n");
  EXPECT_EQ(plain.parts[0].content_type, "text/plain");
  EXPECT_EQ(plain.parts[0].transfer_encoding, "7bit");
  EXPECT_EQ(plain.parts[0].charset, "");
  EXPECT_EQ(plain.parts[0].disposition, "");
}

TEST(MimeParse, MalformedContentTypeFallsBackToDefault) {
  // RFC 2045 §5.2: a syntactically invalid Content-Type is treated as absent.
  for (const char* ct : {"text", "", "/plain", "text/", "garbage here", "\"text/plain\""}) {
    SCOPED_TRACE(ct);
    const std::string msg = std::string("Content-Type: ") + ct + "\r\n\r\nx";
    EXPECT_EQ(parse(msg).parts[0].content_type, "text/plain");
  }
  EXPECT_EQ(parse("Content-Type: (c) TEXT / HTML (c); CHARSET=x\r\n\r\n").parts[0].content_type,
            "text/html");
  EXPECT_EQ(parse("Content-Type: text/plain; charset\r\n\r\n").parts[0].charset, "");
}

const std::string with_parameters = crlf(
    "Content-Type: multipart/mixed; boundary=b\n"
    "\n"
    "--b\n"
    "Content-Type: application/octet-stream; name*0=\"long\"; name*1=\"name.txt\"\n"
    "\n"
    "x\n"
    "--b\n"
    "Content-Type: application/octet-stream\n"
    "Content-Disposition: attachment; filename*=utf-8''%E2%82%AC.txt\n"
    "\n"
    "y\n"
    "--b\n"
    "Content-Disposition: inline\n"
    "\n"
    "z\n"
    "--b\n"
    "Content-Type: text/plain; name*=iso-8859-1'fr'caf%E9.txt\n"
    "\n"
    "w\n"
    "--b--\n");

TEST(MimeParse, ParametersDecodedByGmime) {
  const message_structure s = parse(with_parameters);
  ASSERT_EQ(s.parts.size(), 5u);
  EXPECT_EQ(s.parts[1].name, "longname.txt");      // RFC 2231 §3 continuations
  EXPECT_EQ(s.parts[2].name, "\xE2\x82\xAC.txt");  // RFC 2231 §4 charset
  EXPECT_EQ(s.parts[2].disposition, "attachment");
  EXPECT_EQ(s.parts[3].disposition, "inline");
  EXPECT_EQ(s.parts[3].name, "");
  EXPECT_EQ(s.parts[4].name, "caf\xC3\xA9.txt");  // converted to UTF-8
}

TEST(MimeParse, AllParametersAndExtensionFields) {
  const message_structure s =
      parse(crlf("Content-Type: multipart/mixed; boundary=b\n"
                 "\n"
                 "--b\n"
                 "Content-Type: Application/X-Y; B=\"2\"; A=1; title*0*=utf-8''%C3%A4; title*1=x\n"
                 "Content-Disposition: ATTACHMENT; Filename=\"f \\\"q\\\".txt\"; size=3\n"
                 "Content-Language: en,\n de\n"
                 "Content-Location: http://example.org/\n a/b\n"
                 "Content-MD5:  Q2hlY2s=  \n"
                 "\n"
                 "x\n"
                 "--b\n"
                 "Content-Type: message/rfc822\n"
                 "\n"
                 "From: A <a@example.org>\n"
                 "Subject: inner\n"
                 "Content-Type: text/plain\n"
                 "\n"
                 "y\n"
                 "--b--\n"));
  ASSERT_EQ(sections(s), (std::vector<std::string>{"", "1", "2", "2.1"}));
  EXPECT_EQ(s.parts[0].type_params, (part::params{{"boundary", "b"}}));
  const part& p = s.parts[1];
  EXPECT_EQ(p.content_type, "application/x-y");
  EXPECT_EQ(p.type_params, (part::params{{"b", "2"}, {"a", "1"}, {"title", "\xC3\xA4x"}}));
  EXPECT_EQ(p.disposition, "attachment");
  EXPECT_EQ(p.disposition_params, (part::params{{"filename", "f \"q\".txt"}, {"size", "3"}}));
  EXPECT_EQ(p.name, "f \"q\".txt");
  EXPECT_EQ(p.language, "en, de");
  EXPECT_EQ(p.location, "http://example.org/a/b");
  EXPECT_EQ(p.md5, "Q2hlY2s=");
  EXPECT_EQ(p.envelope, "");
  // The inner message's envelope is kept on its message/rfc822 part; the inner
  // part itself (and the top level) has none.
  EXPECT_EQ(s.parts[2].envelope,
            "(NIL \"inner\" ((\"A\" NIL \"a\" \"example.org\")) ((\"A\" NIL \"a\" "
            "\"example.org\")) ((\"A\" NIL \"a\" \"example.org\")) NIL NIL NIL NIL NIL)");
  EXPECT_EQ(s.parts[3].envelope, "");
  EXPECT_EQ(s.parts[0].envelope, "");
  expect_sane(crlf(""), parse(""));
}

TEST(MimeParse, PartWithoutHeaderAndEmptyParts) {
  const std::string msg = crlf(
      "Content-Type: multipart/mixed; boundary=b\n"
      "\n"
      "--b\n"
      "\n"
      "no header\n"
      "--b\n"
      "--b\n"
      "Content-Type: text/plain\n"
      "--b--\n");
  const message_structure s = parse(msg);
  ASSERT_EQ(sections(s), (std::vector<std::string>{"", "1", "2", "3"}));
  EXPECT_EQ(mime_header_of(msg, s.parts[1]), "\r\n");
  EXPECT_EQ(body_of(msg, s.parts[1]), "no header");
  // An empty part: nothing between two delimiter lines.
  EXPECT_EQ(s.parts[2].body_size, 0u);
  EXPECT_EQ(s.parts[2].header_offset, s.parts[2].body_offset);
  // A header cut short by the next delimiter: no body, its siblings intact.
  EXPECT_EQ(mime_header_of(msg, s.parts[3]), "Content-Type: text/plain");
  EXPECT_EQ(s.parts[3].body_size, 0u);
  expect_sane(msg, s);
}

TEST(MimeParse, BoundaryMatching) {
  const std::string msg = crlf(
      "Content-Type: multipart/mixed; boundary=\"abc\"\n"
      "\n"
      "--abcdef is not a delimiter\n"
      "--abc  \t\n"
      "Content-Type: multipart/alternative; boundary=abc-x\n"
      "\n"
      "--abc-x\n"
      "\n"
      "in\n"
      "--abc-x--\n"
      "--abc--   \n");
  const message_structure s = parse(msg);
  ASSERT_EQ(sections(s), (std::vector<std::string>{"", "1", "1.1"}));
  EXPECT_EQ(body_of(msg, s.parts[2]), "in");
  EXPECT_EQ(body_of(msg, s.parts[1]), "--abc-x\r\n\r\nin\r\n--abc-x--");
  expect_sane(msg, s);
}

TEST(MimeParse, TruncatedAndBrokenBoundaries) {
  // No close-delimiter: the last part runs to the end.
  const std::string open =
      crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nfirst\n--b\n\nsecond\n");
  message_structure s = parse(open);
  ASSERT_EQ(sections(s), (std::vector<std::string>{"", "1", "2"}));
  EXPECT_EQ(body_of(open, s.parts[2]), "second\r\n");
  expect_sane(open, s);

  // Inner multipart never closed: the outer delimiter still ends it.
  const std::string inner_open = crlf(
      "Content-Type: multipart/mixed; boundary=o\n\n"
      "--o\nContent-Type: multipart/mixed; boundary=i\n\n--i\n\ninner\n"
      "--o\n\nsecond\n--o--\n");
  s = parse(inner_open);
  ASSERT_EQ(sections(s), (std::vector<std::string>{"", "1", "1.1", "2"}));
  EXPECT_EQ(body_of(inner_open, s.parts[2]), "inner");
  EXPECT_EQ(body_of(inner_open, s.parts[3]), "second");
  expect_sane(inner_open, s);

  // The boundary never appears; one without a boundary parameter at all.
  for (const std::string& msg :
       {crlf("Content-Type: multipart/mixed; boundary=zz\n\nno parts here\n"),
        crlf("Content-Type: multipart/mixed\n\n--\n\nx\n"),
        crlf("Content-Type: multipart/mixed; boundary=b\n\n--b"),
        crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\n"),
        crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/pl")}) {
    SCOPED_TRACE(msg);
    s = parse(msg);
    EXPECT_EQ(s.parts[0].content_type, "multipart/mixed");
    expect_sane(msg, s);
  }
}

TEST(MimeParse, GarbageAndNulBytes) {
  const std::string nul_header = "Subject: a\0b\r\nContent-Type: text/plain\r\n\r\nbo\0dy\r\n"s;
  message_structure s = parse(nul_header);
  EXPECT_EQ(s.subject, std::string("a\0b", 3));
  EXPECT_EQ(body_of(nul_header, s.parts[0]), std::string("bo\0dy\r\n", 7));
  expect_sane(nul_header, s);

  std::mt19937 rng(42);
  for (int round = 0; round < 200; ++round) {
    std::string junk(rng() % 4096, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    SCOPED_TRACE(round);
    expect_sane(junk, parse(junk));
  }
}

// Every prefix of a complex message, as a truncated delivery would store it.
TEST(MimeParse, TruncatedAtEveryByte) {
  for (size_t n = 0; n <= forwarded.size(); ++n) {
    const std::string prefix = forwarded.substr(0, n);
    SCOPED_TRACE(n);
    expect_sane(prefix, parse(prefix));
    if (HasFatalFailure()) return;
  }
}

TEST(MimeParse, RandomMutationsStaySane) {
  const std::vector<std::string> seeds = {mixed, nested, forwarded};
  const std::string alphabet = "-\r\n \t:;=\"b1o";
  std::mt19937 rng(7);
  for (int round = 0; round < 3000; ++round) {
    std::string msg = seeds[round % seeds.size()];
    for (auto k = static_cast<int>(rng() % 8); k >= 0; --k) {
      const size_t at = rng() % (msg.size() + 1);
      switch (rng() % 3) {
        case 0:
          if (at < msg.size()) msg[at] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          msg.insert(at, 1, alphabet[rng() % alphabet.size()]);
          break;
        default:
          msg.erase(at, rng() % 8);
      }
    }
    SCOPED_TRACE(msg);
    expect_sane(msg, parse(msg));
    if (HasFatalFailure()) return;
  }
}

TEST(MimeParse, DeepNestingIsCapped) {
  constexpr int levels = 1000;
  std::string msg;
  for (int i = 0; i < levels; ++i) {
    msg += "Content-Type: multipart/mixed; boundary=\"b" + std::to_string(i) + "\"\r\n\r\n";
    msg += "--b" + std::to_string(i) + "\r\n";
  }
  msg += "\r\ndeepest\r\n";
  for (int i = levels - 1; i >= 0; --i) msg += "--b" + std::to_string(i) + "--\r\n";
  const message_structure s = parse(msg);
  // Depth 0 (the message) to depth 100; the entity at the cap is not opened.
  ASSERT_EQ(s.parts.size(), 101u);
  const part& last = s.parts.back();
  EXPECT_EQ(std::count(last.section.begin(), last.section.end(), '.'), 99);
  EXPECT_EQ(last.content_type, "multipart/mixed");
  EXPECT_NE(body_of(msg, last).find("deepest"), std::string::npos);
  expect_sane(msg, s);

  // The same through message/rfc822 nesting.
  std::string rfc;
  for (int i = 0; i < levels; ++i) rfc += "Content-Type: message/rfc822\r\n\r\n";
  rfc += "\r\nbody\r\n";
  const message_structure r = parse(rfc);
  EXPECT_EQ(r.parts.size(), 101u);
  expect_sane(rfc, r);
}

TEST(MimeParse, PartCountIsCapped) {
  std::string msg = "Content-Type: multipart/mixed; boundary=b\r\n\r\n";
  for (int i = 0; i < 20000; ++i) msg += "--b\r\n\r\nx\r\n";
  msg += "--b--\r\n";
  const message_structure s = parse(msg);
  EXPECT_EQ(s.parts.size(), 10000u);
  EXPECT_EQ(body_of(msg, s.parts[9999]), "x");
  expect_sane(msg, s);
}

TEST(MimeParse, ConcurrentCallsAgree) {
  const std::vector<std::string> inputs = {simple, mixed, nested, forwarded, with_parameters};
  std::vector<message_structure> expected;
  for (const std::string& m : inputs) expected.push_back(parse(m));
  std::vector<std::string> failures(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        const size_t k = (i + t) % inputs.size();
        if (serialize(parse(inputs[k])) != serialize(expected[k])) failures[t] = "mismatch";
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (const std::string& f : failures) EXPECT_EQ(f, "");
}

TEST(MimeParse, LargeBase64AttachmentOffsets) {
  std::string line(76, 'A');
  line += "\r\n";
  std::string payload;
  for (int i = 0; i < 20000; ++i) payload += line;
  const std::string msg =
      "Content-Type: multipart/mixed; boundary=\"=_big\"\r\n\r\n--=_big\r\n"
      "Content-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\n"
      "\r\n" +
      payload + "--=_big--\r\n";
  const message_structure s = parse(msg);
  ASSERT_EQ(s.parts.size(), 2u);
  EXPECT_EQ(body_of(msg, s.parts[1]), payload.substr(0, payload.size() - 2));
  EXPECT_EQ(s.parts[1].body_lines, 20000u);
}

}  // namespace
}  // namespace postern::mime
