#include "directory/directory.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "directory/live_settings.hpp"
#include "directory/password.hpp"

namespace postern::directory {

namespace {
std::string temp_dir() {
  auto p = std::filesystem::temp_directory_path() /
           ("postern-dir-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(p);
  return p.string();
}
}  // namespace

TEST(Password, YescryptHashVerifies) {
  auto h = hash_password("correct horse");
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->starts_with("{CRYPT}$y$"));
  EXPECT_TRUE(verify_password("correct horse", *h));
  EXPECT_FALSE(verify_password("wrong", *h));
  EXPECT_FALSE(verify_password("correct horse", "correct horse"));  // no plaintext scheme
  EXPECT_FALSE(verify_password("x", "{CRYPT}"));
}

TEST(Password, AcceptsDovecotSha512Crypt) {
  // openssl passwd -6 -salt saltsalt secret
  EXPECT_TRUE(verify_password(
      "secret",
      "{SHA512-CRYPT}$6$saltsalt$"
      "TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1"));
}

TEST(Directory, UsersAddFindRemoveAndIdsAreNotReused) {
  auto d = open_sqlite_directory(temp_dir(), true);
  ASSERT_TRUE(d) << d.err().message;
  auto a = (*d)->add_user("Joe@Example.com", "{CRYPT}x");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->address, "Joe@example.com");
  EXPECT_TRUE((*d)->find_user("joe@EXAMPLE.com"));
  auto dup = (*d)->add_user("joe@example.com", "{CRYPT}y");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.err().code, base::errc::already_exists);
  ASSERT_TRUE((*d)->remove_user("joe@example.com"));
  auto b = (*d)->add_user("joe@example.com", "{CRYPT}z");
  ASSERT_TRUE(b);
  EXPECT_GT(b->id, a->id);
  EXPECT_FALSE((*d)->add_user("not-an-address", "x"));
}

// Set-CASMailbox -ImapEnabled: a protocol refused to one mailbox, seen by
// another connection (the node) at its next lookup, and gone with the user.
TEST(Directory, ProtocolsRefusedPerMailbox) {
  auto dir = temp_dir();
  auto d = open_sqlite_directory(dir, true);
  ASSERT_TRUE(d) << d.err().message;
  ASSERT_TRUE((*d)->add_user("joe@example.com", "{CRYPT}x"));
  ASSERT_TRUE((*d)->add_user("ann@example.com", "{CRYPT}x"));
  EXPECT_TRUE((*d)->find_user("joe@example.com")->allows("imap"));
  auto node = open_sqlite_directory(dir, false);
  ASSERT_TRUE(node);
  ASSERT_TRUE((*d)->set_protocol_enabled("Joe@Example.com", "imap", false));
  ASSERT_TRUE((*d)->set_protocol_enabled("joe@example.com", "imap", false));  // twice: no error
  ASSERT_TRUE((*d)->set_protocol_enabled("joe@example.com", "submission", false));
  auto joe = (*node)->find_user("joe@example.com");
  ASSERT_TRUE(joe);
  EXPECT_FALSE(joe->allows("imap"));
  EXPECT_FALSE(joe->allows("submission"));
  EXPECT_TRUE(joe->allows("pop3"));
  EXPECT_EQ(joe->disabled_protocols, (std::vector<std::string>{"imap", "submission"}));
  EXPECT_TRUE((*node)->find_user("ann@example.com")->allows("imap"));
  auto listed = (*node)->list_users();
  ASSERT_TRUE(listed);
  for (auto& u : *listed) EXPECT_EQ(u.allows("imap"), u.address == "ann@example.com");
  ASSERT_TRUE((*d)->set_protocol_enabled("joe@example.com", "imap", true));
  EXPECT_TRUE((*node)->find_user("joe@example.com")->allows("imap"));
  auto bad = (*d)->set_protocol_enabled("joe@example.com", "gopher", false);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.err().code, base::errc::invalid_argument);
  EXPECT_NE(bad.err().message.find("gopher"), std::string::npos);
  auto nobody = (*d)->set_protocol_enabled("nobody@example.com", "imap", false);
  ASSERT_FALSE(nobody);
  EXPECT_EQ(nobody.err().code, base::errc::not_found);
  // The admin role: POP3 and IMAP only once switched on; submission as before.
  ASSERT_TRUE((*d)->set_role("ann@example.com", "admin"));
  auto ann = (*node)->find_user("ann@example.com");
  EXPECT_EQ(ann->role, "admin");
  EXPECT_FALSE(ann->allows("imap"));
  EXPECT_FALSE(ann->allows("pop3"));
  EXPECT_TRUE(ann->allows("submission"));
  ASSERT_TRUE((*d)->set_protocol_enabled("ann@example.com", "imap", true));
  ann = (*node)->find_user("ann@example.com");
  EXPECT_TRUE(ann->allows("imap"));
  EXPECT_FALSE(ann->allows("pop3"));
  ASSERT_TRUE((*d)->set_protocol_enabled("ann@example.com", "imap", false));
  EXPECT_FALSE((*node)->find_user("ann@example.com")->allows("imap"));
  EXPECT_FALSE((*d)->set_role("ann@example.com", "root"));
  ASSERT_TRUE((*d)->set_role("ann@example.com", "user"));
  EXPECT_EQ((*node)->find_user("ann@example.com")->role, "user");
  // A new user under the old address starts with every protocol allowed.
  ASSERT_TRUE((*d)->remove_user("joe@example.com"));
  ASSERT_TRUE((*d)->add_user("joe@example.com", "{CRYPT}y"));
  EXPECT_TRUE((*node)->find_user("joe@example.com")->disabled_protocols.empty());
}

TEST(Directory, LiveSettingsSeeAnotherConnectionsChange) {
  auto path = temp_dir();
  auto node = open_sqlite_directory(path, true);
  ASSERT_TRUE(node);
  live_settings live(**node);
  EXPECT_EQ(live.pop3()->max_connections_per_user, 16u);
  // The CLI is another process with its own connection.
  auto cli = open_sqlite_directory(path, false);
  ASSERT_TRUE(cli);
  ASSERT_TRUE((*cli)->set_setting("pop3", "max_connections_per_user", "2"));
  EXPECT_EQ(live.pop3()->max_connections_per_user, 2u);
  EXPECT_FALSE((*cli)->set_setting("pop3", "max_connections_per_user", "0"));
}

}  // namespace postern::directory
