#include <gtest/gtest.h>

#include "proto/smtp/command.hpp"
#include "proto/smtp/dot_decoder.hpp"

namespace postern::proto::smtp {

TEST(SmtpParse, MailFromWithParams) {
  std::string why;
  auto p = parse_path("FROM:<a@b.example> SIZE=1000 BODY=8BITMIME", "FROM:", why);
  ASSERT_TRUE(p) << why;
  EXPECT_EQ(p->address, "a@b.example");
  ASSERT_EQ(p->params.size(), 2u);
  EXPECT_EQ(p->params[0].first, "SIZE");
  EXPECT_EQ(p->params[0].second, "1000");
  EXPECT_EQ(p->params[1].second, "8BITMIME");
}

TEST(SmtpParse, NullSenderSourceRouteAndErrors) {
  std::string why;
  auto n = parse_path("from:<>", "FROM:", why);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->address, "");
  auto r = parse_path("TO:<@relay.example:joe@example.com>", "TO:", why);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->address, "joe@example.com");
  EXPECT_FALSE(parse_path("TO:joe@example.com", "TO:", why));
  EXPECT_NE(why.find("angle brackets"), std::string::npos);
  EXPECT_FALSE(parse_path("TO:<joe@example.com", "TO:", why));
  EXPECT_FALSE(parse_path("FROM:<a@b>", "TO:", why));
}

TEST(SmtpParse, CommandKeyword) {
  auto c = parse_command("lhlo mx.example");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->verb, "LHLO");
  EXPECT_EQ(c->args, "mx.example");
  EXPECT_FALSE(parse_command(std::string("\0\1", 2)));
}

struct decoded {
  std::string out;
  size_t used;
  bool done;
};

decoded decode_split(std::string_view in, size_t split, uint64_t limit = 1 << 20) {
  dot_decoder d(limit);
  decoded r{"", 0, false};
  r.used = d.feed(in.substr(0, split), r.out);
  if (!d.done()) r.used += d.feed(in.substr(split), r.out);
  r.done = d.done();
  return r;
}

TEST(DotDecoder, UnstuffsAndStopsAtTheTerminatorAtEverySplit) {
  std::string in = "Subject: x\r\n\r\n..leading\r\n.\r\nNEXT COMMAND\r\n";
  // The lone "." line ends the data; what follows is the next command.
  std::string want = "Subject: x\r\n\r\n.leading\r\n";
  for (size_t i = 0; i <= in.size(); ++i) {
    auto r = decode_split(in, i);
    EXPECT_TRUE(r.done) << i;
    EXPECT_EQ(r.out, want) << i;
    EXPECT_EQ(in.substr(r.used), "NEXT COMMAND\r\n") << i;
  }
}

TEST(DotDecoder, EmptyMessageAndBareLf) {
  auto r = decode_split(".\r\n", 0);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.out, "");
  auto lf = decode_split("a\n.\n", 2);
  EXPECT_TRUE(lf.done);
  EXPECT_EQ(lf.out, "a\n");
}

TEST(DotDecoder, OverLimitKeepsCountingButStopsStoring) {
  dot_decoder d(4);
  std::string out;
  d.feed("123456789\r\n.\r\n", out);
  EXPECT_TRUE(d.done());
  EXPECT_TRUE(d.over_limit());
  EXPECT_EQ(out.size(), 4u);
  EXPECT_EQ(d.total(), 11u);
}

TEST(DotDecoder, UnterminatedDataIsNotDone) {
  dot_decoder d(100);
  std::string out;
  d.feed("line\r\n.notend\r\n", out);
  EXPECT_FALSE(d.done());
  EXPECT_EQ(out, "line\r\nnotend\r\n");
}

}  // namespace postern::proto::smtp
