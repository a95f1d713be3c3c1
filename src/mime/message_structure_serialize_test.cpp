#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <tuple>

#include "mime/message_structure.hpp"

namespace postern::mime {
namespace {

message_structure sample() {
  message_structure s;
  s.header_size = 18446744073709551615ull;
  s.body_lines = 4294967295u;
  s.subject = std::string("tab\there\r\nCRLF \0NUL %41 100%", 28);
  s.from = "\xC3\xA4 <a@example.org>";
  s.to = "\x7f\x01\x1f";
  s.in_reply_to = "%";
  part top;
  top.section = "";
  top.content_type = "multipart/mixed";
  top.boundary = "b\tb\nb";
  top.transfer_encoding = "7bit";
  top.body_offset = 40;
  top.body_size = 100;
  top.body_lines = 3;
  part child;
  child.section = "1.2.3";
  child.content_type = "text/plain";
  child.charset = "utf-8";
  child.name = std::string("a\0b.txt", 7);
  child.disposition = "attachment";
  child.transfer_encoding = "base64";
  child.content_id = "<x@y>";
  child.description = "line1\r\n line2";
  child.type_params = {{"charset", "utf-8"}, {"name", std::string("a\0b.txt", 7)}, {"", ""}};
  child.disposition_params = {{"filename*", "%\t\n"}};
  child.language = "en, de";
  child.location = "http://x/%20";
  child.md5 = "Q2hlY2s=";
  child.envelope = "(NIL {3}\r\n\x01\x02\x03 NIL NIL NIL NIL NIL NIL NIL NIL)";
  child.header_offset = 45;
  child.body_offset = 60;
  child.body_size = 0;
  s.parts = {top, child, part{}};
  return s;
}

auto members(const part& p) {
  return std::tie(p.section, p.content_type, p.charset, p.boundary, p.name, p.disposition,
                  p.transfer_encoding, p.content_id, p.description, p.type_params,
                  p.disposition_params, p.language, p.location, p.md5, p.envelope, p.header_offset,
                  p.body_offset, p.body_size, p.body_lines);
}

auto members(const message_structure& s) {
  return std::tie(s.header_size, s.body_lines, s.subject, s.from, s.sender, s.reply_to, s.to, s.cc,
                  s.bcc, s.date, s.message_id, s.in_reply_to);
}

void expect_equal(const message_structure& a, const message_structure& b) {
  EXPECT_TRUE(members(a) == members(b));
  ASSERT_EQ(a.parts.size(), b.parts.size());
  for (size_t i = 0; i < a.parts.size(); ++i) {
    EXPECT_TRUE(members(a.parts[i]) == members(b.parts[i])) << "part " << i;
  }
}

TEST(MimeSerialize, RoundTripWithControlBytes) {
  const message_structure s = sample();
  const std::string text = serialize(s);
  // One line per field or part: no raw CR, NUL or stray LF from the values.
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_EQ(text.find('\0'), std::string::npos);
  // + 3 parameter lines, 1 disposition parameter line, 1 envelope line, the end line.
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1 + 4 + 3 + 3 + 1 + 1 + 1);
  message_structure back;
  ASSERT_TRUE(deserialize(text, back));
  expect_equal(s, back);
  EXPECT_EQ(back.subject, s.subject);
  EXPECT_EQ(back.from, s.from);
  EXPECT_EQ(back.to, s.to);
  EXPECT_EQ(back.in_reply_to, s.in_reply_to);
  EXPECT_EQ(back.cc, "");
  EXPECT_EQ(back.body_lines, s.body_lines);
  EXPECT_EQ(back.parts[1].section, "1.2.3");
  EXPECT_EQ(back.parts[1].header_offset, 45u);
  EXPECT_EQ(back.parts[2].transfer_encoding, "");
  EXPECT_EQ(back.parts[1].type_params, s.parts[1].type_params);
  EXPECT_EQ(back.parts[1].envelope, s.parts[1].envelope);
  EXPECT_FALSE(back.legacy_format);
}

TEST(MimeSerialize, ReadsVersion1) {
  // A row written before version 2: the new fields come back empty.
  const std::string v1 =
      "postern-mime 1\t40\t3\t2\n"
      "subject\thi\n"
      "part\t\tmultipart/mixed\t\tb\t\t\t7bit\t\t\t0\t40\t100\t3\n"
      "part\t1\ttext/plain\tutf-8\t\tn.txt\tattachment\tbase64\t<c>\td\t45\t60\t7\t1\n";
  message_structure s;
  ASSERT_TRUE(deserialize(v1, s));
  EXPECT_TRUE(s.legacy_format);
  EXPECT_EQ(s.subject, "hi");
  ASSERT_EQ(s.parts.size(), 2u);
  EXPECT_EQ(s.parts[1].name, "n.txt");
  EXPECT_EQ(s.parts[1].content_id, "<c>");
  EXPECT_EQ(s.parts[1].body_lines, 1u);
  EXPECT_TRUE(s.parts[1].type_params.empty());
  EXPECT_TRUE(s.parts[1].envelope.empty());
  // Written again, it is version 2.
  const std::string v2 = serialize(s);
  EXPECT_TRUE(v2.starts_with("postern-mime 2\t"));
  message_structure back;
  ASSERT_TRUE(deserialize(v2, back));
  EXPECT_FALSE(back.legacy_format);
  EXPECT_EQ(serialize(back), v2);
  // Version 2 lines are not version 1 and the other way round.
  EXPECT_FALSE(deserialize("postern-mime 1\t0\t0\t0\nend\n", s));
  EXPECT_FALSE(
      deserialize("postern-mime 2\t1\t2\t1\npart\t\t\t\t\t\t\t\t\t\t1\t2\t3\t4\nend\n", s));
  EXPECT_FALSE(
      deserialize("postern-mime 1\t1\t2\t1\npart\t\t\t\t\t\t\t\t\t\t1\t2\t3\t4\t\t\t\n", s));
}

TEST(MimeSerialize, Version2Order) {
  const std::string part = "part\t\t\t\t\t\t\t\t\t\t1\t2\t3\t4\t\t\t\n";
  const std::string head = "postern-mime 2\t1\t2\t1\n";
  message_structure s;
  EXPECT_TRUE(deserialize(head + part + "type\ta\tb\ndisp\tc\td\nenvelope\tx\nend\n", s));
  EXPECT_EQ(s.parts[0].type_params, (part::params{{"a", "b"}}));
  EXPECT_EQ(s.parts[0].disposition_params, (part::params{{"c", "d"}}));
  EXPECT_EQ(s.parts[0].envelope, "x");
  for (const std::string& bad : {
           head + part,                                    // no end line
           head + part + "end\nend\n",                     // a line after it
           head + "end\n" + part,                          // parts after the end
           head + part + "disp\tc\td\ntype\ta\tb\nend\n",  // out of order
           head + part + "envelope\tx\nenvelope\tx\nend\n",
           head + part + "envelope\t\nend\n",
           head + part + "type\ta\nend\n",
           head + part + "type\ta\tb\tc\nend\n",
           head + part + "type\ta%zz\tb\nend\n",
           head + "type\ta\tb\n" + part + "end\n",
           head + part + "subject\tx\nend\n",
       }) {
    EXPECT_FALSE(deserialize(bad, s)) << testing::PrintToString(bad);
  }
}

TEST(MimeSerialize, RoundTripEmpty) {
  const message_structure empty;
  const std::string text = serialize(empty);
  EXPECT_EQ(text, "postern-mime 2\t0\t0\t0\nend\n");
  message_structure back;
  back.subject = "stale";
  ASSERT_TRUE(deserialize(text, back));
  EXPECT_EQ(back.subject, "");
  EXPECT_TRUE(back.parts.empty());
}

TEST(MimeSerialize, RoundTripOfParsedMessage) {
  const std::string msg =
      "Subject: hi\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\na\r\n--x--\r\n";
  const message_structure s = parse(msg);
  message_structure back;
  ASSERT_TRUE(deserialize(serialize(s), back));
  expect_equal(s, back);
}

TEST(MimeSerialize, DeserializeRejectsMalformedInput) {
  const std::string good = serialize(sample());
  message_structure out;
  out.subject = "untouched";
  // Every truncation fails, thanks to the part count and the final LF.
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(deserialize(good.substr(0, n), out)) << n;
  }
  const std::string head = "postern-mime 1\t1\t2\t0\n";
  for (const std::string& bad : {
           std::string("garbage"),
           std::string("\0\0\0", 3),
           std::string("postern-mime 2\t1\t2\t0\n"),
           std::string("postern-mime 1\t1\t2\n"),
           std::string("postern-mime 1\t1\t2\t0\t9\n"),
           std::string("postern-mime 1\t-1\t2\t0\n"),
           std::string("postern-mime 1\t+1\t2\t0\n"),
           std::string("postern-mime 1\t 1\t2\t0\n"),
           std::string("postern-mime 1\t1\t4294967296\t0\n"),
           std::string("postern-mime 1\t18446744073709551616\t2\t0\n"),
           std::string("postern-mime 1\t1\t2\t1\n"),
           head + "subject\tx",
           head + "subject\t\n",
           head + "subject\tx\nsubject\ty\n",
           head + "to\tx\nfrom\ty\n",
           head + "unknown\tx\n",
           head + "subject\ta%4\n",
           head + "subject\ta%zz\n",
           head + "subject\ta\rb\n",
           head + std::string("subject\ta\0b\n", 12),
           head + "\n",
           std::string("postern-mime 1\t1\t2\t1\npart\t\ttext/plain\n"),
           std::string("postern-mime 1\t1\t2\t1\npart\t\t\t\t\t\t\t\t\t\t1\t2\t3\t4\t5\n"),
           std::string("postern-mime 1\t1\t2\t1\npart\t\t\t\t\t\t\t\t\t\tx\t2\t3\t4\n"),
           std::string("postern-mime 1\t1\t2\t1\npart\t\t\t\t\t\t\t\t\t\t1\t2\t3\t4\nsubject\tx\n"),
           std::string("postern-mime 1\t1\t2\t1\npart\t\t\t\t\t\t\t\t\t\t1\t2\t3\t4\n\n"),
       }) {
    EXPECT_FALSE(deserialize(bad, out)) << testing::PrintToString(bad);
  }
  EXPECT_EQ(out.subject, "untouched");
  EXPECT_TRUE(deserialize("postern-mime 1\t1\t2\t1\npart\t\t\t\t\t\t\t\t\t\t1\t2\t3\t4\n", out));
}

}  // namespace
}  // namespace postern::mime
