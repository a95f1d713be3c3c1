#include <gtest/gtest.h>

#include "proto/smtp/command.hpp"
#include "proto/smtp/dot_decoder.hpp"

namespace postern::proto::smtp {

using params = std::vector<std::pair<std::string, std::string>>;

struct valid_path {
  std::string_view args;
  std::string_view prefix;
  bool allow_null;
  std::string_view address;
  params want_params;
};

// Every row is a line a client may send after "MAIL " or "RCPT ".
const valid_path valid_paths[] = {
    {"FROM:<a@b.example>", "FROM:", true, "a@b.example", {}},
    {"TO:<joe@example.com>", "TO:", false, "joe@example.com", {}},
    {"to:<Joe.Q.Public+tag@Mail-1.Example.COM>",
     "TO:",
     false,
     "Joe.Q.Public+tag@Mail-1.Example.COM",
     {}},
    {"TO:<!#$%&'*+-/=?^_`{|}~@x.example>", "TO:", false, "!#$%&'*+-/=?^_`{|}~@x.example", {}},
    {"TO:<\"john smith\"@example.com>", "TO:", false, "\"john smith\"@example.com", {}},
    {"TO:<\"a>b\\\"c@d\"@example.com>", "TO:", false, "\"a>b\\\"c@d\"@example.com", {}},
    {"TO:<\"\"@example.com>", "TO:", false, "\"\"@example.com", {}},
    {"TO:<user@[192.0.2.1]>", "TO:", false, "user@[192.0.2.1]", {}},
    {"TO:<user@[IPv6:2001:db8::1]>", "TO:", false, "user@[IPv6:2001:db8::1]", {}},
    {"TO:<user@[ipv6:2001:db8:0:0:0:0:0:1]>", "TO:", false, "user@[ipv6:2001:db8:0:0:0:0:0:1]", {}},
    {"TO:<user@[IPv6:::ffff:192.0.2.1]>", "TO:", false, "user@[IPv6:::ffff:192.0.2.1]", {}},
    {"TO:<user@[IPv6:::]>", "TO:", false, "user@[IPv6:::]", {}},
    {"TO:<user@[x-tag:any-thing]>", "TO:", false, "user@[x-tag:any-thing]", {}},
    {"TO:<@relay.example:joe@example.com>", "TO:", false, "joe@example.com", {}},
    {"TO:<@a.example,@b.example:joe@example.com>", "TO:", false, "joe@example.com", {}},
    {"TO:<jörg@bücher.example>", "TO:", false, "jörg@bücher.example", {}},
    {"TO:<用户@例子.广告>", "TO:", false, "用户@例子.广告", {}},
    {"TO:<postmaster>", "TO:", false, "postmaster", {}},
    {"TO:<PostMaster@example.com>", "TO:", false, "PostMaster@example.com", {}},
    {"TO:<a@localhost>", "TO:", false, "a@localhost", {}},
    {"TO:<a@3com.example>", "TO:", false, "a@3com.example", {}},
    {"FROM:<>", "FROM:", true, "", {}},
    {"from:<>", "FROM:", true, "", {}},
    {"FROM: <a@b.example>", "FROM:", true, "a@b.example", {}},  // common, tolerated
    {"FROM:<a@b.example>  ", "FROM:", true, "a@b.example", {}},
    {"FROM:<> SIZE=0", "FROM:", true, "", {{"SIZE", "0"}}},
    {"FROM:<a@b.example> SIZE=10 BODY=8BITMIME",
     "FROM:",
     true,
     "a@b.example",
     {{"SIZE", "10"}, {"BODY", "8BITMIME"}}},
    {"FROM:<a@b.example> body=8bitmime smtputf8",
     "FROM:",
     true,
     "a@b.example",
     {{"BODY", "8bitmime"}, {"SMTPUTF8", ""}}},
    {"FROM:<a@b.example> AUTH=<> X-1=a+2B\xc3\xa9",
     "FROM:",
     true,
     "a@b.example",
     {{"AUTH", "<>"}, {"X-1", "a+2B\xc3\xa9"}}},
    {"TO:<a@b.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@b.example",
     "TO:",
     false,
     "a@b.example",
     {{"NOTIFY", "SUCCESS,FAILURE"}, {"ORCPT", "rfc822;a@b.example"}}},
};

TEST(SmtpPath, ValidPaths) {
  for (const auto& v : valid_paths) {
    auto r = parse_path(v.args, v.prefix, v.allow_null);
    auto* p = std::get_if<path_argument>(&r);
    ASSERT_TRUE(p) << v.args << ": " << std::get<path_failure>(r).message;
    EXPECT_EQ(p->address, v.address) << v.args;
    EXPECT_EQ(p->params, v.want_params) << v.args;
  }
}

TEST(SmtpPath, ValidPathsCutShortAreRefusedNotMisread) {
  // Every cut before the closing '>' must fail; cuts inside the parameters
  // may succeed but never change the address.
  for (const auto& v : valid_paths) {
    auto close = v.args.rfind('>', v.args.find(' ', v.args.find('>')));
    for (size_t n = 0; n < v.args.size(); ++n) {
      auto r = parse_path(v.args.substr(0, n), v.prefix, v.allow_null);
      if (n <= close) {
        EXPECT_TRUE(std::holds_alternative<path_failure>(r)) << v.args.substr(0, n);
      } else if (auto* p = std::get_if<path_argument>(&r)) {
        EXPECT_EQ(p->address, v.address) << v.args.substr(0, n);
      }
    }
  }
}

TEST(SmtpPath, Utf8MarksTheMailboxNotTheParameters) {
  auto a = std::get<path_argument>(parse_path("TO:<jörg@example.com>", "TO:", false));
  EXPECT_TRUE(a.utf8);
  auto b = std::get<path_argument>(parse_path("FROM:<a@b> X=\xc3\xa9", "FROM:", true));
  EXPECT_FALSE(b.utf8);
  auto route = std::get<path_argument>(parse_path("TO:<@a.example:b@c>", "TO:", false));
  EXPECT_FALSE(route.utf8);
}

struct invalid_path {
  std::string args;
  std::string_view prefix;
  bool allow_null;
  path_fault fault;
};

std::string repeat(char c, size_t n) { return std::string(n, c); }

const std::vector<invalid_path>& invalid_paths() {
  static const std::vector<invalid_path> rows = {
      // The frame: prefix, brackets, what follows '>'.
      {"FROM:<a@b>", "TO:", false, path_fault::syntax},
      {"TO:joe@example.com", "TO:", false, path_fault::syntax},
      {"TO:", "TO:", false, path_fault::syntax},
      {"TO", "TO:", false, path_fault::syntax},
      {"TO:<joe@example.com", "TO:", false, path_fault::syntax},
      {"TO:<\"a>b\"@c", "TO:", false, path_fault::syntax},     // the '>' is quoted
      {"TO:<a\"b@c> X=1", "TO:", false, path_fault::address},  // not a quoted local part
      {"TO:<a@b>x", "TO:", false, path_fault::syntax},
      {"TO:<a@b><c@d>", "TO:", false, path_fault::syntax},
      {"TO:<a@b>\x01", "TO:", false, path_fault::syntax},
      // The mailbox.
      {"TO:<@x:>", "TO:", false, path_fault::address},
      {"TO:<@x,@y:>", "TO:", false, path_fault::address},
      {"TO:<@x>", "TO:", false, path_fault::address},
      {"TO:<@b>", "TO:", false, path_fault::address},
      {"TO:<@:a@b>", "TO:", false, path_fault::address},
      {"TO:<@x,y:a@b>", "TO:", false, path_fault::address},
      {"TO:<@-x:a@b>", "TO:", false, path_fault::address},
      {"TO:<@[192.0.2.1]:a@b>", "TO:", false, path_fault::address},
      {"TO:<no-at-sign>", "TO:", false, path_fault::address},
      {"FROM:<postmaster>", "FROM:", true, path_fault::address},  // only RCPT TO
      {"TO:<a@@b>", "TO:", false, path_fault::address},
      {"TO:<a@b@c>", "TO:", false, path_fault::address},
      {"TO:<a@>", "TO:", false, path_fault::address},
      {"TO:<.a@b>", "TO:", false, path_fault::address},
      {"TO:<a.@b>", "TO:", false, path_fault::address},
      {"TO:<a..b@c>", "TO:", false, path_fault::address},
      {"TO:<a b@c>", "TO:", false, path_fault::address},
      {"TO:<a(b)@c>", "TO:", false, path_fault::address},
      {"TO:<a\\b@c>", "TO:", false, path_fault::address},
      {"TO:<a\"b@c>", "TO:", false, path_fault::address},
      {"TO:<\"a\"b@c>", "TO:", false, path_fault::address},
      {"TO:<\"ab@c>", "TO:", false, path_fault::address},
      {"TO:<\"a\\\xc3\xa9\"@c>", "TO:", false, path_fault::address},
      {"TO:<a@-b.c>", "TO:", false, path_fault::address},
      {"TO:<a@b-.c>", "TO:", false, path_fault::address},
      {"TO:<a@b..c>", "TO:", false, path_fault::address},
      {"TO:<a@.b>", "TO:", false, path_fault::address},
      {"TO:<a@b.>", "TO:", false, path_fault::address},
      {"TO:<a@b_c.d>", "TO:", false, path_fault::address},
      {"TO:<a@b c>", "TO:", false, path_fault::address},
      {"TO:< a@b>", "TO:", false, path_fault::address},
      {"TO:<a@b >", "TO:", false, path_fault::address},
      {"TO:< >", "TO:", false, path_fault::address},
      {"TO:<>", "TO:", false, path_fault::address},
      {"TO:<a@[192.0.2.256]>", "TO:", false, path_fault::address},
      {"TO:<a@[192.0.2]>", "TO:", false, path_fault::address},
      {"TO:<a@[1.2.3.4.5]>", "TO:", false, path_fault::address},
      {"TO:<a@[1234.2.3.4]>", "TO:", false, path_fault::address},
      {"TO:<a@[192.0.2.1>", "TO:", false, path_fault::address},
      {"TO:<a@[192.0.2.1]x>", "TO:", false, path_fault::address},
      {"TO:<a@[]>", "TO:", false, path_fault::address},
      {"TO:<a@[IPv6:2001:db8::1::2]>", "TO:", false, path_fault::address},
      {"TO:<a@[IPv6:1:2:3:4:5:6:7]>", "TO:", false, path_fault::address},
      {"TO:<a@[IPv6:1:2:3:4:5:6:7::]>", "TO:", false, path_fault::address},  // "::" for one group
      {"TO:<a@[IPv6:12345::1]>", "TO:", false, path_fault::address},
      {"TO:<a@[IPv6:::g]>", "TO:", false, path_fault::address},
      {"TO:<a@[IPv6:1.2.3.4::]>", "TO:", false, path_fault::address},
      {"TO:<a@[IPv6:1:2:3:4:5::1.2.3.4]>", "TO:", false, path_fault::address},
      {"TO:<a@[tag-:x]>", "TO:", false, path_fault::address},
      {"TO:<a@[tag:]>", "TO:", false, path_fault::address},
      {"TO:<a@[tag:a\\b]>", "TO:", false, path_fault::address},
      {"TO:<a@b.example\x01>", "TO:", false, path_fault::address},
      {std::string("TO:<a\0b@c>", 10), "TO:", false, path_fault::address},
      {"TO:<a\x7f@c>", "TO:", false, path_fault::address},
      {"TO:<\"a\tb\"@c>", "TO:", false, path_fault::address},  // controls even when quoted
      {"TO:<a@b\r\n.c>", "TO:", false, path_fault::address},
      {"TO:<j\xf6rg@example.com>", "TO:", false, path_fault::address},       // Latin-1, not UTF-8
      {"TO:<jorg@b\xc3.example>", "TO:", false, path_fault::address},        // cut sequence
      {"TO:<\xc0\xaf@example.com>", "TO:", false, path_fault::address},      // overlong '/'
      {"TO:<\xed\xa0\x80@example.com>", "TO:", false, path_fault::address},  // surrogate
      // Limits of RFC 5321 §4.5.3.1.
      {"TO:<" + repeat('a', 65) + "@b>", "TO:", false, path_fault::address},
      {"TO:<\"" + repeat('a', 63) + "\"@b>", "TO:", false, path_fault::address},
      {"TO:<a@" + repeat('b', 64) + ".c>", "TO:", false, path_fault::address},
      {"TO:<a@" + repeat('b', 63) + "." + repeat('c', 63) + "." + repeat('d', 63) + "." +
           repeat('e', 61) + ">",
       "TO:", false, path_fault::address},  // 257 octets with the brackets
      // Parameters.
      {"FROM:<a@b> SIZE =x", "FROM:", true, path_fault::parameter},
      {"FROM:<a@b> =x", "FROM:", true, path_fault::parameter},
      {"FROM:<a@b> SIZE=", "FROM:", true, path_fault::parameter},
      {"FROM:<a@b> SIZE==1", "FROM:", true, path_fault::parameter},
      {"FROM:<a@b> SIZE=1=2", "FROM:", true, path_fault::parameter},
      {"FROM:<a@b> -SIZE=1", "FROM:", true, path_fault::parameter},
      {"FROM:<a@b> SI_ZE=1", "FROM:", true, path_fault::parameter},
      {"FROM:<a@b> SIZE=1\tBODY=7BIT", "FROM:", true, path_fault::parameter},
      {"FROM:<a@b> X=\x01", "FROM:", true, path_fault::parameter},
      {"FROM:<a@b> X=\x7f", "FROM:", true, path_fault::parameter},
      {"FROM:<a@b> X=\xff", "FROM:", true, path_fault::parameter},
  };
  return rows;
}

const char* fault_name(path_fault f) {
  switch (f) {
    case path_fault::syntax:
      return "syntax";
    case path_fault::address:
      return "address";
    case path_fault::parameter:
      return "parameter";
  }
  return "?";
}

TEST(SmtpPath, InvalidPathsWithTheirFault) {
  for (const auto& v : invalid_paths()) {
    auto r = parse_path(v.args, v.prefix, v.allow_null);
    auto* f = std::get_if<path_failure>(&r);
    ASSERT_TRUE(f) << v.args << " was accepted as " << std::get<path_argument>(r).address;
    EXPECT_STREQ(fault_name(f->fault), fault_name(v.fault)) << v.args << ": " << f->message;
    EXPECT_FALSE(f->message.empty());
    for (char c : f->message)  // client bytes are escaped
      EXPECT_TRUE(static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f)
          << v.args << ": " << f->message;
  }
}

TEST(SmtpPath, LimitsAreExactAtTheBoundary) {
  auto ok = [](const std::string& args) {
    return std::holds_alternative<path_argument>(parse_path(args, "TO:", false));
  };
  EXPECT_TRUE(ok("TO:<" + repeat('a', 64) + "@b>"));
  EXPECT_FALSE(ok("TO:<" + repeat('a', 65) + "@b>"));
  EXPECT_TRUE(ok("TO:<\"" + repeat('a', 62) + "\"@b>"));
  EXPECT_TRUE(ok("TO:<a@" + repeat('b', 63) + ".c>"));
  EXPECT_FALSE(ok("TO:<a@" + repeat('b', 64) + ".c>"));
  // A non-ASCII label is not held to 63 octets here (its A-label may be shorter).
  EXPECT_TRUE(ok("TO:<a@" + repeat('b', 62) + "\xc3\xa9.c>"));
  auto domain = repeat('b', 63) + "." + repeat('c', 63) + "." + repeat('d', 63) + "." +
                repeat('e', 60);  // 252 octets: "<a@" + 252 + ">" = 256
  EXPECT_TRUE(ok("TO:<a@" + domain + ">"));
  EXPECT_FALSE(ok("TO:<a@" + domain + "e>"));
  // The route counts towards the 256 octets.
  EXPECT_FALSE(ok("TO:<@r.example:a@" + domain + ">"));
}

TEST(SmtpPath, MessagesSayWhatIsWrong) {
  auto message = [](std::string_view args, std::string_view prefix = "TO:", bool null = false) {
    auto r = parse_path(args, prefix, null);
    auto* f = std::get_if<path_failure>(&r);
    return f ? f->message : std::string("accepted");
  };
  EXPECT_EQ(message("TO:<a@@b>"),
            "the address <a@@b> is not a valid mailbox: the domain part is empty");
  EXPECT_EQ(message("TO:<@x:>"),
            "the address <@x:> is not a valid mailbox: the source route is not followed by a "
            "mailbox");
  EXPECT_EQ(message("TO:<no-at-sign>"),
            "the address <no-at-sign> is not a valid mailbox: there is no '@' and domain after "
            "the local part");
  EXPECT_EQ(message("TO:<a..b@c>"),
            "the address <a..b@c> is not a valid mailbox: the local part has two '.' in a row");
  EXPECT_EQ(message("TO:<a b@c>"),
            "the address <a b@c> is not a valid mailbox: the local part contains a space, which "
            "needs quotes");
  EXPECT_EQ(message("TO:<a@b\r\n>"),
            "the address <a@b\\x0d\\x0a> is not a valid mailbox: it contains the control "
            "character \\x0d");
  EXPECT_EQ(message("TO:<>"),
            "the address <> is not a valid mailbox: the null path <> is only allowed in MAIL FROM");
  EXPECT_EQ(message("TO:joe@example.com"),
            "the address must be in angle brackets: TO:<user@example.com>");
  EXPECT_EQ(message("FROM:<a@b>", "to:"), "expected TO:<address>");
  EXPECT_EQ(message("TO:<a@b"), "missing '>' after the address");
  EXPECT_EQ(message("TO:<\"a>b\"@c"), "missing '>' after the address");
  EXPECT_EQ(message("TO:<a\\b@c>"),
            "the address <a\\x5cb@c> is not a valid mailbox: the local part contains a backslash, "
            "which needs quotes");
  EXPECT_EQ(message("TO:<a@b>x"), "after '>' only parameters may follow, after a space, not x");
  EXPECT_EQ(message("FROM:<a@b> SIZE =x", "FROM:", true), "the parameter =x has no keyword");
  EXPECT_EQ(message("FROM:<a@b> SIZE=", "FROM:", true), "the parameter SIZE has '=' but no value");
  // Long input is cut in the message.
  auto long_message = message("TO:<" + repeat('a', 5000) + "@b>");
  EXPECT_LT(long_message.size(), 200u);
  EXPECT_NE(long_message.find("longer than 256 octets"), std::string::npos);
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
  // Only CRLF "." CRLF ends DATA: none of the bare-LF look-alikes do, at any
  // split, so a second message cannot be smuggled inside the first.
  for (std::string fake : {"a\n.\nMAIL FROM:<x@y>\r\n", "a\n.\r\nMAIL FROM:<x@y>\r\n",
                           "a\r\n.\nMAIL FROM:<x@y>\r\n"}) {
    for (size_t i = 0; i <= fake.size(); ++i) {
      auto r = decode_split(fake, i);
      EXPECT_FALSE(r.done) << i;
      EXPECT_EQ(r.used, fake.size()) << i;
    }
    auto r = decode_split(fake + ".\r\n", 3);
    EXPECT_TRUE(r.done);
    EXPECT_NE(r.out.find("MAIL FROM:<x@y>"), std::string::npos);
  }
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
