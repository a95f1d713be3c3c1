#include "session/smtp/dsn_params.hpp"

#include <gtest/gtest.h>

namespace postern::session::smtp {
namespace {

proto::smtp::path_argument path_with(std::vector<std::pair<std::string, std::string>> params) {
  proto::smtp::path_argument p;
  p.address = "joe@example.com";
  p.params = std::move(params);
  return p;
}

TEST(DsnParams, XtextAllowsHexEscapesOnly) {
  EXPECT_TRUE(valid_xtext("joe+2Bjim@example.com"));
  EXPECT_FALSE(valid_xtext("a=b"));
  EXPECT_FALSE(valid_xtext("a+2"));
  EXPECT_FALSE(valid_xtext("a+2b"));  // hex digits are upper case (RFC 3461 §4)
  EXPECT_FALSE(valid_xtext("a b"));
}

TEST(DsnParams, MailTakesRetAndEnvidAndLeavesTheRest) {
  auto p = path_with({{"RET", "hdrs"}, {"SIZE", "10"}, {"ENVID", "QQ314159"}});
  dsn_mail d;
  EXPECT_EQ(take_dsn_mail_params(p, d), "");
  EXPECT_EQ(d.ret, "HDRS");
  EXPECT_EQ(d.envid, "QQ314159");
  ASSERT_EQ(p.params.size(), 1u);
  EXPECT_EQ(p.params[0].first, "SIZE");
}

TEST(DsnParams, MailRefusesBadValues) {
  dsn_mail d;
  auto bad_ret = path_with({{"RET", "ALL"}});
  EXPECT_TRUE(take_dsn_mail_params(bad_ret, d).starts_with("501 5.5.4 RET"));
  auto twice = path_with({{"RET", "FULL"}, {"RET", "HDRS"}});
  EXPECT_TRUE(take_dsn_mail_params(twice, d).starts_with("501 5.5.4 RET"));
  auto bad_envid = path_with({{"ENVID", "a=b"}});
  EXPECT_TRUE(take_dsn_mail_params(bad_envid, d).starts_with("501 5.5.4 ENVID"));
}

TEST(DsnParams, RcptNotifyAndOrcpt) {
  dsn_rcpt d;
  auto p = path_with({{"NOTIFY", "failure,delay"}, {"ORCPT", "rfc822;joe@example.com"}});
  EXPECT_EQ(take_dsn_rcpt_params(p, d), "");
  EXPECT_EQ(d.notify, "FAILURE,DELAY");
  EXPECT_EQ(d.orcpt, "rfc822;joe@example.com");
  EXPECT_TRUE(p.params.empty());
  auto never_and = path_with({{"NOTIFY", "NEVER,FAILURE"}});
  EXPECT_TRUE(take_dsn_rcpt_params(never_and, d).starts_with("501 5.5.4 NOTIFY"));
  auto no_type = path_with({{"ORCPT", "joe@example.com"}});
  EXPECT_TRUE(take_dsn_rcpt_params(no_type, d).starts_with("501 5.5.4 ORCPT"));
}

}  // namespace
}  // namespace postern::session::smtp
