// The real POP3 session over loopback, with a scripted client that misbehaves
// on purpose: drops mid-RETR, closes after DELE, pipelines everything.
#include "session/pop3/session.hpp"

#include <gtest/gtest.h>

#include "session/testing/session_harness.hpp"

namespace postern::session::pop3 {

namespace {

using testing::script_client;
using testing::session_harness;

const std::string body_line(997, 'x');

class Pop3Session : public ::testing::Test {
 protected:
  Pop3Session() : h_("pop3") {
    h_.add_user("joe@example.com", "pw");
    h_.set("login_type", "plaintext");
  }

  uint32_t deliver(const std::string& bytes) {
    auto mb = *h_.mail().open(h_.dir().find_user("joe@example.com")->id);
    return *mb->append("INBOX", store::new_message{bytes, 0, 0});
  }

  size_t stored_count() { return h_.stored_count("joe@example.com"); }

  void run(const std::function<void(script_client&)>& script) { h_.run(run_session, script); }

  session_harness h_;
};

void log_in(script_client& c) {
  ASSERT_TRUE(c.line().starts_with("+OK"));
  c.send("USER joe@example.com\r\nPASS pw\r\n");
  ASSERT_TRUE(c.line().starts_with("+OK"));
  ASSERT_TRUE(c.line().starts_with("+OK Logged in"));
}

}  // namespace

TEST_F(Pop3Session, RetrByteExactWithStuffedLines) {
  std::string msg = "Subject: t\r\n\r\n.one\r\n..two\r\n.\r\nend\r\n";
  deliver(msg);
  run([&](script_client& c) {
    log_in(c);
    c.send("RETR 1\r\nQUIT\r\n");
    auto ok = c.line();
    EXPECT_EQ(ok, "+OK " + std::to_string(msg.size()) + " octets");
    EXPECT_EQ(c.multiline(), msg);
    EXPECT_TRUE(c.line().starts_with("+OK Logging out"));
    EXPECT_TRUE(c.at_eof());
  });
}

TEST_F(Pop3Session, ClientVanishingMidRetrEndsTheSessionAndDeletesNothing) {
  std::string big = "Subject: big\r\n\r\n";
  for (int i = 0; i < 4000; ++i) big += body_line + "\r\n";  // 4 MB
  deliver(big);
  deliver("Subject: small\r\n\r\nhi\r\n");
  run([&](script_client& c) {
    log_in(c);
    c.send("DELE 2\r\nRETR 1\r\n");
    EXPECT_TRUE(c.line().starts_with("+OK"));
    EXPECT_TRUE(c.line().starts_with("+OK"));
    c.read_exactly(10000);  // some of the message, then gone without QUIT
    c.close();
  });
  EXPECT_EQ(stored_count(), 2u);  // run() returned: the session ended by itself
}

TEST_F(Pop3Session, QuitRemovesMarkedMessagesBeforeItsOk) {
  deliver("Subject: a\r\n\r\na\r\n");
  deliver("Subject: b\r\n\r\nb\r\n");
  run([&](script_client& c) {
    log_in(c);
    c.send("DELE 1\r\nQUIT\r\n");
    EXPECT_TRUE(c.line().starts_with("+OK"));
    EXPECT_EQ(c.line(), "+OK Logging out; 1 messages deleted");
    // By the time the client reads +OK the deletion is committed.
    EXPECT_EQ(stored_count(), 1u);
  });
}

TEST_F(Pop3Session, GarbageThenPipelinedBatchInOneWrite) {
  deliver("Subject: a\r\n\r\na\r\n");
  run([&](script_client& c) {
    ASSERT_TRUE(c.line().starts_with("+OK"));
    c.send(std::string("\x00\xff\x01", 3) +
           "garbage\r\nUSER joe@example.com\r\nPASS pw\r\nSTAT\r\nQUIT\r\n");
    EXPECT_TRUE(c.line().starts_with("-ERR Unknown command"));
    EXPECT_TRUE(c.line().starts_with("+OK"));
    EXPECT_TRUE(c.line().starts_with("+OK Logged in"));
    EXPECT_TRUE(c.line().starts_with("+OK 1 "));
    EXPECT_TRUE(c.line().starts_with("+OK"));
  });
}

}  // namespace postern::session::pop3

namespace postern::session::pop3 {

TEST_F(Pop3Session, CapaComesFromTheCommandTableAndDropsLoginCommandsAfterLogin) {
  run([&](script_client& c) {
    ASSERT_TRUE(c.line().starts_with("+OK"));
    c.send("CAPA\r\n");
    ASSERT_TRUE(c.line().starts_with("+OK"));
    auto before = c.multiline();
    for (auto cap : {"USER\r\n", "SASL PLAIN LOGIN\r\n", "UTF8 USER\r\n", "TOP\r\n", "UIDL\r\n",
                     "RESP-CODES\r\n", "AUTH-RESP-CODE\r\n", "PIPELINING\r\n"})
      EXPECT_NE(before.find(cap), std::string::npos) << cap;
    EXPECT_EQ(before.find("STLS"), std::string::npos) << "no TLS on this listener";
    c.send("USER joe@example.com\r\nPASS pw\r\nCAPA\r\nQUIT\r\n");
    c.line();
    ASSERT_TRUE(c.line().starts_with("+OK Logged in"));
    ASSERT_TRUE(c.line().starts_with("+OK"));
    auto after = c.multiline();
    EXPECT_NE(after.find("TOP\r\n"), std::string::npos);
    EXPECT_NE(after.find("UIDL\r\n"), std::string::npos);
    EXPECT_EQ(after.find("USER\r\n"), std::string::npos);
    EXPECT_EQ(after.find("SASL"), std::string::npos);
  });
}

}  // namespace postern::session::pop3

namespace postern::session::pop3 {

namespace {
// Keeps what the engine reports, as the protocol log will.
struct recording_observer final : core::command_observer {
  struct row {
    std::string verb, args, result;
    uint64_t out;
  };
  std::vector<row> rows;
  void on_command(const core::command_record& r) override {
    rows.push_back(
        {std::string(r.verb), std::string(r.arguments), std::string(r.result), r.bytes_out});
  }
};
}  // namespace

TEST_F(Pop3Session, EveryCommandReachesTheObserverWithSecretsMasked) {
  deliver("Subject: a\r\n\r\na\r\n");
  recording_observer seen;
  h_.observe_commands(&seen);
  run([&](script_client& c) {
    ASSERT_TRUE(c.line().starts_with("+OK"));
    c.send("USER joe@example.com\r\nPASS pw\r\nSTAT\r\nRETR 9\r\nQUIT\r\n");
    for (int i = 0; i < 5; ++i) c.line();
  });
  ASSERT_EQ(seen.rows.size(), 5u);
  EXPECT_EQ(seen.rows[0].verb, "USER");
  EXPECT_EQ(seen.rows[0].args, "joe@example.com");
  EXPECT_EQ(seen.rows[1].verb, "PASS");
  EXPECT_EQ(seen.rows[1].args, "*****");  // the password never reaches a log
  EXPECT_EQ(seen.rows[1].result, "+OK");
  EXPECT_EQ(seen.rows[2].verb, "STAT");
  EXPECT_GT(seen.rows[2].out, 0u);
  EXPECT_EQ(seen.rows[3].result, "-ERR");  // RETR 9: no such message
  EXPECT_EQ(seen.rows[4].verb, "QUIT");
}

}  // namespace postern::session::pop3
