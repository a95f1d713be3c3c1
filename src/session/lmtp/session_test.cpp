// The real LMTP session over loopback with a scripted MTA that misbehaves.
#include "session/lmtp/session.hpp"

#include <gtest/gtest.h>

#include "session/testing/session_harness.hpp"

namespace postern::session::lmtp {

namespace {

using testing::script_client;
using testing::session_harness;

class LmtpSession : public ::testing::Test {
 protected:
  LmtpSession() : h_("lmtp") { h_.add_user("joe@example.com", "pw"); }

  size_t stored_count() { return h_.stored_count("joe@example.com"); }

  void run(const std::function<void(script_client&)>& script) { h_.run(run_session, script); }

  session_harness h_;
};

void greet(script_client& c) {
  ASSERT_TRUE(c.line().starts_with("220 "));
  c.send("LHLO mx\r\n");
  while (c.line().starts_with("250-")) {
  }
}

}  // namespace

TEST_F(LmtpSession, ConnectionLostDuringDataStoresNothing) {
  run([&](script_client& c) {
    greet(c);
    c.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<joe@example.com>\r\nDATA\r\n");
    EXPECT_TRUE(c.line().starts_with("250 2.1.0"));
    EXPECT_TRUE(c.line().starts_with("250 2.1.5"));
    EXPECT_TRUE(c.line().starts_with("354"));
    c.send("Subject: cut\r\n\r\nhalf of it");
    c.close();
  });
  EXPECT_EQ(stored_count(), 0u);
}

TEST_F(LmtpSession, PerRecipientRepliesAfterTheMessageIsStored) {
  run([&](script_client& c) {
    greet(c);
    c.send(
        "MAIL FROM:<a@b.example>\r\nRCPT TO:<joe@example.com>\r\nRCPT TO:<x@example.com>\r\n"
        "DATA\r\n");
    EXPECT_TRUE(c.line().starts_with("250 2.1.0"));
    EXPECT_TRUE(c.line().starts_with("250 2.1.5"));
    EXPECT_EQ(c.line(), "550 5.1.1 <x@example.com>: no such user here");
    EXPECT_TRUE(c.line().starts_with("354"));
    c.send("Subject: s\r\n\r\n..dot\r\n.\r\n");
    EXPECT_TRUE(c.line().starts_with("250 2.0.0 <joe@example.com> Saved as UID 1"));
    EXPECT_EQ(stored_count(), 1u);  // stored before the reply was read
    c.send("QUIT\r\n");
    EXPECT_TRUE(c.line().starts_with("221"));
  });
}

TEST_F(LmtpSession, OversizedDataIsRefusedAndTheSessionCarriesOn) {
  h_.set("max_message_size", "1024");
  run([&](script_client& c) {
    greet(c);
    c.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<joe@example.com>\r\nDATA\r\n");
    c.line();
    c.line();
    EXPECT_TRUE(c.line().starts_with("354"));
    c.send("Subject: big\r\n\r\n" + std::string(5000, 'x') + "\r\n.\r\nNOOP\r\n");
    auto refusal = c.line();
    EXPECT_TRUE(refusal.starts_with("552 5.3.4 <joe@example.com>")) << refusal;
    EXPECT_NE(refusal.find("max_message_size"), std::string::npos);
    EXPECT_TRUE(c.line().starts_with("250 2.0.0 OK"));
  });
  EXPECT_EQ(stored_count(), 0u);
}

}  // namespace postern::session::lmtp
