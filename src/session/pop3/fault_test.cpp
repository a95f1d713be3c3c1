// Every error path of the POP3 session, walked by fault injection: a store
// that fails its Nth operation (with an error or an exception) and a
// connection that fails its Nth read or write. Whatever fails, the client
// gets a coded reply or a clean close, never a path or an exception's text;
// nothing escapes the session; a deletion happens only if QUIT said so.
#include <gtest/gtest.h>

#include "session/pop3/session.hpp"
#include "session/testing/session_harness.hpp"

namespace postern::session::pop3 {

namespace {

using store::testing::fault_kind;
using testing::script_client;
using testing::session_harness;

struct transcript {
  std::vector<std::string> lines;
  bool quit_sent = false;
  bool quit_deleted = false;
};

// Sends one command and reads its reply (with the body of a multi-line one).
bool command(script_client& c, transcript& t, const std::string& cmd, bool multiline) {
  c.send(cmd + "\r\n");
  auto reply = c.line();
  if (reply.empty()) return false;  // closed
  t.lines.push_back(reply);
  if (multiline && reply.starts_with("+OK")) c.multiline();
  return true;
}

void script(script_client& c, transcript& t) {
  auto greeting = c.line();
  if (greeting.empty()) return;
  t.lines.push_back(greeting);
  if (!command(c, t, "USER joe@example.com", false)) return;
  if (!command(c, t, "PASS pw", false)) return;
  for (auto [cmd, multi] : {std::pair{"LIST", true},
                            {"UIDL", true},
                            {"RETR 1", true},
                            {"TOP 2 0", true},
                            {"DELE 1", false}})
    if (!command(c, t, cmd, multi)) return;
  t.quit_sent = true;
  if (!command(c, t, "QUIT", false)) return;
  t.quit_deleted = t.lines.back() == "+OK Logging out; 1 messages deleted";
}

class Pop3Faults : public ::testing::Test {
 protected:
  std::unique_ptr<session_harness> fresh() {
    auto h = std::make_unique<session_harness>("pop3");
    h->add_user("joe@example.com", "pw");
    h->set("login_type", "plaintext");
    h->set("login_failure_delay", "0s");
    auto mb = *h->mail().open(h->dir().find_user("joe@example.com")->id);
    (void)mb->append("INBOX", store::new_message{"Subject: a\r\n\r\n.dot\r\n", 0, 0});
    (void)mb->append("INBOX", store::new_message{"Subject: b\r\n\r\nplain\r\n", 0, 0});
    return h;
  }

  void check(session_harness& h, const transcript& t, const std::string& what) {
    EXPECT_EQ(h.escaped_exception(), "") << what;
    for (auto& l : t.lines) {
      EXPECT_TRUE(l.starts_with("+OK") || l.starts_with("-ERR")) << what << ": " << l;
      // Client-visible text never carries a path or an exception's message.
      EXPECT_EQ(l.find("/data/mail"), std::string::npos) << what << ": " << l;
      EXPECT_EQ(l.find("injected"), std::string::npos) << what << ": " << l;
      EXPECT_EQ(l.find("bad_alloc"), std::string::npos) << what << ": " << l;
      if (l.starts_with("-ERR [SYS")) EXPECT_NE(l.find("session"), std::string::npos) << l;
    }
    // Deleted when QUIT said so; kept when the session ended before QUIT. A
    // QUIT whose +OK was lost on the way may have done either (RFC 1939 §6).
    auto left = h.stored_count("joe@example.com");
    if (t.quit_deleted)
      EXPECT_EQ(left, 1u) << what;
    else if (!t.quit_sent)
      EXPECT_EQ(left, 2u) << what;
    else
      EXPECT_TRUE(left == 1u || left == 2u) << what;
  }
};

}  // namespace

TEST_F(Pop3Faults, EveryStoreFailureGivesACodedReplyAndLosesNothing) {
  for (auto kind : {fault_kind::error, fault_kind::exception}) {
    bool fired = true;
    for (uint32_t n = 1; fired && n < 50; ++n) {
      auto h = fresh();
      h->inject_store_faults(n, kind);
      transcript t;
      h->run(run_session, [&](script_client& c) { script(c, t); });
      fired = h->store_fault_fired();
      check(*h, t, "store fault " + std::to_string(n));
      if (fired) {
        bool coded = false;
        for (auto& l : t.lines) coded = coded || l.starts_with("-ERR [SYS");
        EXPECT_TRUE(coded) << "store fault " << n << " gave no [SYS/...] reply";
      }
    }
  }
}

TEST_F(Pop3Faults, EveryConnectionFailureEndsTheSessionCleanly) {
  for (uint32_t n = 1; n <= 12; ++n) {
    for (bool on_read : {true, false}) {
      auto h = fresh();
      h->inject_connection_faults(on_read ? n : 0, on_read ? 0 : n);
      transcript t;
      h->run(run_session, [&](script_client& c) { script(c, t); });
      check(*h, t, (on_read ? "read fault " : "write fault ") + std::to_string(n));
    }
  }
}

TEST_F(Pop3Faults, ABusyDirectoryAtLoginSaysTryAgainNotWrongPassword) {
  auto h = fresh();
  h->inject_directory_faults(1);
  transcript t;
  h->run(run_session, [&](script_client& c) { script(c, t); });
  ASSERT_TRUE(h->directory_fault_fired());
  ASSERT_GE(t.lines.size(), 3u);
  // The PASS reply: a temporary refusal with the session id, not "[AUTH]",
  // so the client keeps the password and retries (RFC 3206 SYS/TEMP).
  EXPECT_TRUE(t.lines[2].starts_with("-ERR [SYS/TEMP]")) << t.lines[2];
  EXPECT_NE(t.lines[2].find("session"), std::string::npos) << t.lines[2];
  EXPECT_EQ(t.lines[2].find("injected"), std::string::npos) << t.lines[2];
  EXPECT_EQ(h->stored_count("joe@example.com"), 2u);
}

}  // namespace postern::session::pop3
