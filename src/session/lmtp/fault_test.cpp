// Every error path of the LMTP session, walked by fault injection (store
// fails its Nth operation with an error or an exception; the connection its
// Nth read or write): each recipient gets 250 only for a message that is
// stored, a coded 4xx/5xx otherwise, and nothing escapes the session.
#include <gtest/gtest.h>

#include "session/lmtp/session.hpp"
#include "session/testing/session_harness.hpp"

namespace postern::session::lmtp {

namespace {

using store::testing::fault_kind;
using testing::script_client;
using testing::session_harness;

struct transcript {
  std::vector<std::string> lines;
  int saved_joe = 0, saved_ann = 0;
};

void script(script_client& c, transcript& t) {
  auto read = [&] {
    auto l = c.line();
    if (!l.empty()) t.lines.push_back(l);
    return l;
  };
  if (read().empty()) return;
  c.send("LHLO mx\r\n");
  for (;;) {
    auto l = read();
    if (l.empty()) return;
    if (!l.starts_with("250-")) break;
  }
  c.send(
      "MAIL FROM:<a@b.example>\r\nRCPT TO:<joe@example.com>\r\nRCPT TO:<ann@example.com>\r\n"
      "DATA\r\n");
  int accepted = 0;
  for (int i = 0; i < 4; ++i) {
    auto l = read();
    if (l.empty()) return;
    if (l.starts_with("250 2.1.5")) ++accepted;
  }
  if (!t.lines.back().starts_with("354")) return;
  std::string body = "Subject: s\r\n\r\n";
  for (int i = 0; i < 2000; ++i)
    body += "line of the message body number " + std::to_string(i) + "\r\n";
  c.send(body + ".\r\n");
  // LMTP: one reply per accepted recipient (RFC 2033 §4.2).
  for (int i = 0; i < accepted; ++i) {
    auto l = read();
    if (l.empty()) return;
    if (l.starts_with("250 2.0.0 <joe@example.com>")) ++t.saved_joe;
    if (l.starts_with("250 2.0.0 <ann@example.com>")) ++t.saved_ann;
  }
  c.send("QUIT\r\n");
  read();
}

class LmtpFaults : public ::testing::Test {
 protected:
  std::unique_ptr<session_harness> fresh() {
    auto h = std::make_unique<session_harness>("lmtp");
    h->add_user("joe@example.com", "pw");
    h->add_user("ann@example.com", "pw");
    return h;
  }

  void check(session_harness& h, const transcript& t, const std::string& what) {
    EXPECT_EQ(h.escaped_exception(), "") << what;
    for (auto& l : t.lines) {
      ASSERT_GE(l.size(), 3u) << what;
      EXPECT_TRUE(l[0] >= '2' && l[0] <= '5') << what << ": " << l;
      EXPECT_EQ(l.find("/data/mail"), std::string::npos) << what << ": " << l;
      EXPECT_EQ(l.find("injected"), std::string::npos) << what << ": " << l;
    }
    // Acknowledged means stored. A message stored whose 250 never reached the
    // client may be stored (the client retries: SMTP's at-least-once), but
    // once at most.
    EXPECT_GE(h.stored_count("joe@example.com"), static_cast<size_t>(t.saved_joe)) << what;
    EXPECT_GE(h.stored_count("ann@example.com"), static_cast<size_t>(t.saved_ann)) << what;
    EXPECT_LE(h.stored_count("joe@example.com"), 1u) << what;
    EXPECT_LE(h.stored_count("ann@example.com"), 1u) << what;
  }
};

}  // namespace

TEST_F(LmtpFaults, EveryStoreFailureGivesEachRecipientACodedReply) {
  for (auto kind : {fault_kind::error, fault_kind::exception}) {
    bool fired = true;
    for (uint32_t n = 1; fired && n < 30; ++n) {
      auto h = fresh();
      h->inject_store_faults(n, kind);
      transcript t;
      h->run(run_session, [&](script_client& c) { script(c, t); });
      fired = h->store_fault_fired();
      check(*h, t, "store fault " + std::to_string(n));
      // With the connection intact, what was not acknowledged was not stored.
      EXPECT_EQ(h->stored_count("joe@example.com"), static_cast<size_t>(t.saved_joe));
      EXPECT_EQ(h->stored_count("ann@example.com"), static_cast<size_t>(t.saved_ann));
      if (fired) EXPECT_LT(t.saved_joe + t.saved_ann, 2) << "store fault " << n;
    }
  }
}

TEST_F(LmtpFaults, EveryConnectionFailureEndsTheSessionCleanly) {
  for (uint32_t n = 1; n <= 10; ++n) {
    for (bool on_read : {true, false}) {
      auto h = fresh();
      h->inject_connection_faults(on_read ? n : 0, on_read ? 0 : n);
      transcript t;
      h->run(run_session, [&](script_client& c) { script(c, t); });
      check(*h, t, (on_read ? "read fault " : "write fault ") + std::to_string(n));
    }
  }
}

TEST_F(LmtpFaults, ABusyDirectoryMeansTryAgainNeverNoSuchUserAndNeverDeletesMail) {
  for (uint32_t n = 1; n <= 6; ++n) {
    auto h = fresh();
    // Mail already there must survive whatever the directory says meanwhile.
    for (auto* who : {"joe@example.com", "ann@example.com"}) {
      auto mb = *h->mail().open(h->dir().find_user(who)->id);
      ASSERT_TRUE(mb->append("INBOX", store::new_message{"Subject: earlier\r\n\r\nx\r\n", 0, 0}));
    }
    h->inject_directory_faults(n);
    transcript t;
    h->run(run_session, [&](script_client& c) { script(c, t); });
    std::string what = "directory fault " + std::to_string(n);
    EXPECT_EQ(h->escaped_exception(), "") << what;
    for (auto& l : t.lines)
      EXPECT_FALSE(l.starts_with("550"))
          << what << ": a busy directory is not a missing user: " << l;
    EXPECT_EQ(h->stored_count("joe@example.com"), 1u + t.saved_joe) << what;
    EXPECT_EQ(h->stored_count("ann@example.com"), 1u + t.saved_ann) << what;
    // At RCPT the busy directory gives "451 try again"; during the commit its
    // answer is not needed to deliver (the recipient was found at RCPT), so
    // the message is delivered. Never anything permanent.
    for (auto& l : t.lines) EXPECT_TRUE(l[0] == '2' || l[0] == '3' || l.starts_with("451")) << l;
  }
}

}  // namespace postern::session::lmtp
