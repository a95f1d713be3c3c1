#include "proto/sasl/mechanism.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/strings.hpp"

namespace postern::proto::sasl {

namespace {

using namespace std::string_literals;
using kind = step::kind;

std::string b64(std::string_view raw) { return base::base64_encode(raw); }

struct sasl_case {
  const char* name;
  const char* mech;
  std::optional<std::string> initial;   // as sent, base64
  std::vector<std::string> responses;   // client lines, base64
  std::vector<std::string> challenges;  // expected, raw
  kind end;
  credentials creds;  // for check_password
  std::string error;  // a piece of the words, for failure
};

std::vector<sasl_case> cases() {
  std::string k1024(1024, 'k'), k1025(1025, 'k');
  return {
      // PLAIN (RFC 4616)
      {"plain initial",
       "PLAIN",
       b64("\0joe@example.com\0secret"s),
       {},
       {},
       kind::check_password,
       {"", "joe@example.com", "secret"},
       ""},
      {"plain with authzid",
       "plain",
       b64("shared@example.com\0joe\0pw"s),
       {},
       {},
       kind::check_password,
       {"shared@example.com", "joe", "pw"},
       ""},
      {"plain after empty challenge",
       "PLAIN",
       std::nullopt,
       {b64("\0joe\0s p a c e"s)},
       {""},
       kind::check_password,
       {"", "joe", "s p a c e"},
       ""},
      {"plain 8-bit password",
       "PLAIN",
       b64("\0joe\0p\xc3\xa4ss"s),
       {},
       {},
       kind::check_password,
       {"", "joe", "p\xc3\xa4ss"},
       ""},
      {"plain fields at 1024",
       "PLAIN",
       b64(k1024 + '\0' + k1024 + '\0' + k1024),
       {},
       {},
       kind::check_password,
       {k1024, k1024, k1024},
       ""},
      {"plain empty initial (=)",
       "PLAIN",
       "",
       {},
       {},
       kind::failure,
       {},
       "malformed SASL PLAIN response (RFC 4616: base64 of authzid NUL user NUL password)"},
      {"plain no NUL", "PLAIN", b64("joe"), {}, {}, kind::failure, {}, "malformed SASL PLAIN"},
      {"plain one NUL", "PLAIN", b64("joe\0secret"s), {}, {}, kind::failure, {}, "malformed"},
      {"plain empty authcid",
       "PLAIN",
       b64("\0\0secret"s),
       {},
       {},
       kind::failure,
       {},
       "SASL PLAIN user name is empty"},
      {"plain authzid only",
       "PLAIN",
       b64("joe\0\0secret"s),
       {},
       {},
       kind::failure,
       {},
       "user name is empty"},
      {"plain empty password",
       "PLAIN",
       b64("\0joe\0"s),
       {},
       {},
       kind::failure,
       {},
       "SASL PLAIN password is empty"},
      {"plain third NUL",
       "PLAIN",
       b64("\0joe\0sec\0ret"s),
       {},
       {},
       kind::failure,
       {},
       "SASL PLAIN password contains a NUL byte"},
      {"plain long authzid",
       "PLAIN",
       b64(k1025 + '\0' + "joe" + '\0' + "pw"),
       {},
       {},
       kind::failure,
       {},
       "SASL PLAIN authorization identity is longer than 1024 bytes"},
      {"plain long authcid",
       "PLAIN",
       b64("\0"s + k1025 + '\0' + "pw"),
       {},
       {},
       kind::failure,
       {},
       "SASL PLAIN user name is longer than 1024 bytes"},
      {"plain long password",
       "PLAIN",
       b64("\0joe\0"s + k1025),
       {},
       {},
       kind::failure,
       {},
       "SASL PLAIN password is longer than 1024 bytes"},
      {"plain huge response",
       "PLAIN",
       std::string(4104, 'A'),
       {},
       {},
       kind::failure,
       {},
       "SASL PLAIN response is too long"},
      {"plain garbage",
       "PLAIN",
       "not base64!",
       {},
       {},
       kind::failure,
       {},
       "SASL PLAIN response is not valid base64 (RFC 4648)"},
      {"plain pad inside", "PLAIN", "AG=vZQBw", {}, {}, kind::failure, {}, "not valid base64"},
      {"plain three pads", "PLAIN", "A===", {}, {}, kind::failure, {}, "not valid base64"},
      {"plain all pads", "PLAIN", "====", {}, {}, kind::failure, {}, "not valid base64"},
      {"plain trailing space",
       "PLAIN",
       b64("\0joe\0pw"s) + " ",
       {},
       {},
       kind::failure,
       {},
       "not valid base64"},
      {"plain short quantum", "PLAIN", "AGpvZQBwdw", {}, {}, kind::failure, {}, "not valid base64"},
      {"plain garbage after challenge",
       "PLAIN",
       std::nullopt,
       {"***"},
       {""},
       kind::failure,
       {},
       "not valid base64"},
      // LOGIN (draft-murchison-sasl-login)
      {"login two steps",
       "LOGIN",
       std::nullopt,
       {b64("joe@example.com"), b64("secret")},
       {"Username:", "Password:"},
       kind::check_password,
       {"", "joe@example.com", "secret"},
       ""},
      {"login initial user",
       "login",
       b64("joe"),
       {b64("secret")},
       {"Password:"},
       kind::check_password,
       {"", "joe", "secret"},
       ""},
      {"login empty initial",
       "LOGIN",
       "",
       {b64("joe"), b64("pw")},
       {"Username:", "Password:"},
       kind::check_password,
       {"", "joe", "pw"},
       ""},
      {"login user at 1024",
       "LOGIN",
       b64(k1024),
       {b64(k1024)},
       {"Password:"},
       kind::check_password,
       {"", k1024, k1024},
       ""},
      {"login bad user",
       "LOGIN",
       std::nullopt,
       {"j*e"},
       {"Username:"},
       kind::failure,
       {},
       "SASL LOGIN user name is not valid base64"},
      {"login bad initial user",
       "LOGIN",
       "=a==",
       {},
       {},
       kind::failure,
       {},
       "SASL LOGIN user name is not valid base64"},
      {"login bad password",
       "LOGIN",
       b64("joe"),
       {"c2VjcmV0!"},
       {"Password:"},
       kind::failure,
       {},
       "SASL LOGIN password is not valid base64"},
      {"login empty user",
       "LOGIN",
       std::nullopt,
       {""},
       {"Username:"},
       kind::failure,
       {},
       "SASL LOGIN user name is empty"},
      {"login empty password",
       "LOGIN",
       b64("joe"),
       {""},
       {"Password:"},
       kind::failure,
       {},
       "SASL LOGIN password is empty"},
      {"login NUL in user",
       "LOGIN",
       b64("jo\0e"s),
       {},
       {},
       kind::failure,
       {},
       "SASL LOGIN user name contains a NUL byte"},
      {"login NUL in password",
       "LOGIN",
       b64("joe"),
       {b64("pw\0"s)},
       {"Password:"},
       kind::failure,
       {},
       "SASL LOGIN password contains a NUL byte"},
      {"login long user",
       "LOGIN",
       b64(k1025),
       {},
       {},
       kind::failure,
       {},
       "SASL LOGIN user name is longer than 1024 bytes"},
      {"login long password",
       "LOGIN",
       b64("joe"),
       {b64(k1025)},
       {"Password:"},
       kind::failure,
       {},
       "SASL LOGIN password is longer than 1024 bytes"},
  };
}

}  // namespace

TEST(SaslMechanism, EveryPath) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.name);
    auto m = make_mechanism(c.mech);
    ASSERT_TRUE(m);
    std::optional<std::string_view> initial;
    if (c.initial) initial = *c.initial;
    auto s = m->start(initial);
    std::vector<std::string> challenges;
    size_t used = 0;
    while (s.what == kind::challenge && used < c.responses.size()) {
      challenges.push_back(s.challenge);
      s = m->next(c.responses[used++]);
    }
    EXPECT_EQ(used, c.responses.size());
    EXPECT_EQ(challenges, c.challenges);
    ASSERT_EQ(s.what, c.end) << s.error;
    if (c.end == kind::check_password) {
      EXPECT_EQ(s.creds.authzid, c.creds.authzid);
      EXPECT_EQ(s.creds.authcid, c.creds.authcid);
      EXPECT_EQ(s.creds.password, c.creds.password);
      EXPECT_TRUE(s.error.empty());
    } else {
      EXPECT_NE(s.error.find(c.error), std::string::npos) << s.error;
      EXPECT_TRUE(s.creds.authcid.empty());
      EXPECT_TRUE(s.creds.password.empty());
    }
    // The exchange is over: anything more is refused, never a second login.
    auto after = m->next(b64("\0joe\0secret"s));
    EXPECT_EQ(after.what, kind::failure);
    EXPECT_NE(after.error.find("out of order"), std::string::npos) << after.error;
    EXPECT_EQ(m->start(std::nullopt).what, kind::failure);
  }
}

TEST(SaslMechanism, OutOfOrderCalls) {
  for (const char* name : {"PLAIN", "LOGIN"}) {
    SCOPED_TRACE(name);
    auto fresh = make_mechanism(name);
    auto s = fresh->next(b64("joe"));  // next() before start()
    EXPECT_EQ(s.what, kind::failure);
    EXPECT_EQ(s.error, "SASL " + std::string(name) + " exchange out of order");
    auto twice = make_mechanism(name);
    EXPECT_EQ(twice->start(std::nullopt).what, kind::challenge);
    EXPECT_EQ(twice->start(std::nullopt).what, kind::failure);
  }
}

TEST(SaslMechanism, NamesAndLookup) {
  auto names = supported_mechanisms();
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0], "PLAIN");
  EXPECT_EQ(names[1], "LOGIN");
  for (auto n : names) {
    auto m = make_mechanism(n);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->name(), n);
    EXPECT_TRUE(make_mechanism(base::to_lower(n)));
  }
  EXPECT_FALSE(make_mechanism("CRAM-MD5"));
  EXPECT_FALSE(make_mechanism("SCRAM-SHA-256"));
  EXPECT_FALSE(make_mechanism("PLAIN "));
  EXPECT_FALSE(make_mechanism(""));
  EXPECT_FALSE(make_mechanism("PLAIN\0"s));
}

}  // namespace postern::proto::sasl

namespace postern::proto::sasl {

// The assertions of the former decode_plain() test, on the mechanism that
// replaced it.
TEST(SaslMechanism, PlainDecodesAndRejectsMalformed) {
  auto ok = make_mechanism("PLAIN")->start("AGpvZUBleGFtcGxlLmNvbQBzZWNyZXQ=");
  ASSERT_EQ(ok.what, step::kind::check_password);
  EXPECT_EQ(ok.creds.authcid, "joe@example.com");
  EXPECT_EQ(ok.creds.password, "secret");
  EXPECT_TRUE(ok.creds.authzid.empty());
  for (auto bad : {"am9l", "AABzZWNyZXQ=", "not base64!"})  // no NULs, empty authcid, not base64
    EXPECT_EQ(make_mechanism("PLAIN")->start(std::string_view(bad)).what, step::kind::failure)
        << bad;
}

}  // namespace postern::proto::sasl
