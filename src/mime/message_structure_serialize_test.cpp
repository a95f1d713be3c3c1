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
  child.header_offset = 45;
  child.body_offset = 60;
  child.body_size = 0;
  s.parts = {top, child, part{}};
  return s;
}

auto members(const part& p) {
  return std::tie(p.section, p.content_type, p.charset, p.boundary, p.name, p.disposition,
                  p.transfer_encoding, p.content_id, p.description, p.header_offset, p.body_offset,
                  p.body_size, p.body_lines);
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
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1 + 4 + 3);
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
}

TEST(MimeSerialize, RoundTripEmpty) {
  const message_structure empty;
  const std::string text = serialize(empty);
  EXPECT_EQ(text, "postern-mime 1\t0\t0\t0\n");
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
