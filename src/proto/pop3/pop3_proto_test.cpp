#include <gtest/gtest.h>

#include "proto/pop3/command.hpp"
#include "proto/pop3/dot_stuff.hpp"

namespace postern::proto::pop3 {

TEST(Pop3Parse, VerbIsUpperCasedAndArgsKeptVerbatim) {
  auto r = parse_command("retr 1");
  ASSERT_TRUE(r.cmd);
  EXPECT_EQ(r.cmd->verb, "RETR");
  EXPECT_EQ(r.cmd->args, "1");
  auto p = parse_command("PASS  two  spaces ");
  ASSERT_TRUE(p.cmd);
  EXPECT_EQ(p.cmd->args, " two  spaces ");
}

TEST(Pop3Parse, GarbageIsABadKeyword) {
  EXPECT_EQ(parse_command("").error, parse_error::empty);
  EXPECT_FALSE(parse_command(std::string("RE\0TR", 5)).cmd);
  EXPECT_EQ(parse_command("\x01\x02\xff").error, parse_error::bad_keyword);
  EXPECT_FALSE(parse_command(" RETR").cmd);
}

TEST(Pop3Parse, MessageNumbers) {
  EXPECT_EQ(parse_message_number("1"), 1u);
  EXPECT_EQ(parse_message_number("4294967295"), 4294967295u);
  EXPECT_FALSE(parse_message_number("0"));
  EXPECT_FALSE(parse_message_number("4294967296"));
  EXPECT_FALSE(parse_message_number("-1"));
  EXPECT_FALSE(parse_message_number("1x"));
  EXPECT_FALSE(parse_message_number(""));
}

TEST(Pop3Parse, SplitTwo) {
  auto t = split_two("1 10");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->first, "1");
  EXPECT_EQ(t->second, "10");
  EXPECT_FALSE(split_two("1"));
  EXPECT_FALSE(split_two("1 2 3"));
}

std::string stuff_split_at(std::string_view in, size_t split) {
  dot_stuffer s;
  std::string out;
  s.feed(in.substr(0, split), out);
  s.feed(in.substr(split), out);
  s.finish(out);
  return out;
}

TEST(DotStuff, LinesStartingWithDotAreStuffedAtEverySplit) {
  std::string in = ".first\r\nmid.dle\r\n.\r\n..two\r\n";
  std::string want = "..first\r\nmid.dle\r\n..\r\n...two\r\n.\r\n";
  for (size_t i = 0; i <= in.size(); ++i) EXPECT_EQ(stuff_split_at(in, i), want) << "split " << i;
}

TEST(DotStuff, UnterminatedLastLineGetsCrlfBeforeTheDot) {
  dot_stuffer s;
  std::string out;
  s.feed("no newline", out);
  s.finish(out);
  EXPECT_EQ(out, "no newline\r\n.\r\n");
}

}  // namespace postern::proto::pop3
