// The real IMAP session over loopback with scripted clients: every command of
// a realistic session sent one byte per write gives the same replies as sent
// whole (literals, APPEND's streamed message, IDLE's DONE included), and
// every store failure on the way gives a coded reply, never a path or an
// exception's text, with nothing escaping the session.
#include "session/imap/session.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <regex>

#include "session/imap/state.hpp"
#include "session/testing/session_harness.hpp"

namespace postern::session::imap {

namespace {

using store::testing::fault_kind;
using testing::script_client;
using testing::session_harness;

const std::string message_text =
    "From: a@example.com\r\nSubject: Hello there\r\nMessage-ID: <m1@example.com>\r\n\r\n"
    "Body line\r\n";

// The commands of the script, each with the tag its completion starts with.
std::vector<std::string> commands() {
  return {
      "a1 LOGIN {15}\r\njoe@example.com {2}\r\npw\r\n",
      "a2 CAPABILITY\r\n",
      "a3 LIST \"\" \"*\"\r\n",
      "a4 SELECT INBOX\r\n",
      "a5 FETCH 1:* (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (Subject)] ENVELOPE)\r\n",
      "a6 APPEND INBOX (\\Seen) {" + std::to_string(message_text.size()) + "}\r\n" + message_text +
          "\r\n",
      "a7 NOOP\r\n",
      "a8 UID SEARCH SUBJECT hello\r\n",
      "a9 STORE 1 +FLAGS (\\Flagged)\r\n",
      "b1 COPY 1:* Archive\r\n",
      "b2 STATUS Archive (MESSAGES UIDNEXT)\r\n",
      "b3 IDLE\r\nDONE\r\n",
      "b4 LOGOUT\r\n",
  };
}

// One response line with the literals inside it ("{n}" then n bytes, then
// the rest of the line); "" when the connection closed.
std::string response_line(script_client& c) {
  auto l = c.line();
  static const std::regex literal(R"(\{(\d+)\}$)");
  std::smatch m;
  while (std::regex_search(l, m, literal)) {
    auto bytes = c.read_exactly(std::stoul(m[1]));
    l += "\r\n" + bytes + c.line();
  }
  return l;
}

// Reads until the line that completes `tag`; continuation requests are kept.
std::vector<std::string> until_tagged(script_client& c, const std::string& tag) {
  std::vector<std::string> out;
  for (;;) {
    auto l = response_line(c);
    if (l.empty()) return out;
    out.push_back(l);
    if (l.rfind(tag + " ", 0) == 0) return out;
  }
}

class ImapSession : public ::testing::Test {
 protected:
  std::unique_ptr<session_harness> fresh() {
    auto h = std::make_unique<session_harness>("imap");
    h->add_user("joe@example.com", "pw");
    h->set("login_type", "plaintext");
    h->set("login_failure_delay", "0s");
    auto mb = *h->mail().open(h->dir().find_user("joe@example.com")->id);
    (void)mb->append("INBOX", store::new_message{message_text, 1700000000, 0});
    return h;
  }

  // Runs the script with each command sent whole or one byte at a time;
  // returns every line the server sent, with UIDVALIDITY-like numbers and
  // dates normalised.
  std::vector<std::string> transcript(bool bytewise) {
    auto h = fresh();
    std::vector<std::string> lines;
    h->run(run_session, [&](script_client& c) {
      lines.push_back(c.line());
      for (auto& cmd : commands()) {
        std::string tag = cmd.substr(0, 2);
        // Literals wait for "+" before their bytes (synchronizing).
        size_t pos = 0;
        while (pos < cmd.size()) {
          size_t lit = cmd.find("}\r\n", pos);
          size_t end = lit == std::string::npos ? cmd.size() : lit + 3;
          bool idle = cmd.find("IDLE\r\n", pos) == pos + 3 && pos == 0;
          if (idle) end = cmd.find("DONE");
          auto piece = cmd.substr(pos, end - pos);
          if (bytewise) {
            for (char ch : piece) c.send(std::string(1, ch));
          } else {
            c.send(piece);
          }
          pos = end;
          if (pos < cmd.size()) {
            auto cont = c.line();
            lines.push_back(cont);
            if (cont.rfind("+", 0) != 0) break;
          }
        }
        for (auto& l : until_tagged(c, tag)) lines.push_back(l);
      }
    });
    // MAILBOXID is "M" and the hex digits with no space between (RFC 8474 §4).
    std::regex volatile_numbers(R"((UIDVALIDITY |MAILBOXID \(M|COPYUID |APPENDUID )[0-9a-f]+)");
    for (auto& l : lines) l = std::regex_replace(l, volatile_numbers, "$1N");
    return lines;
  }
};

}  // namespace

TEST_F(ImapSession, EveryCommandSentByteByByteGetsTheSameReplies) {
  auto whole = transcript(false);
  auto split = transcript(true);
  ASSERT_GT(whole.size(), 20u);
  for (size_t i = 0; i < std::max(whole.size(), split.size()); ++i) {
    auto a = i < whole.size() ? whole[i] : "<none>";
    auto b = i < split.size() ? split[i] : "<none>";
    ASSERT_EQ(a, b) << "line " << i << " differs";
  }
  auto all = [&] {
    std::string s;
    for (auto& l : whole) s += l + "\n";
    return s;
  }();
  EXPECT_NE(all.find("a1 OK [CAPABILITY"), std::string::npos) << all;
  EXPECT_NE(all.find("* 1 FETCH (UID 1 FLAGS (\\Recent) RFC822.SIZE"), std::string::npos) << all;
  EXPECT_NE(all.find("BODY[HEADER.FIELDS (Subject)] {24}"), std::string::npos) << all;
  EXPECT_NE(all.find("\"Hello there\""), std::string::npos) << all;  // the ENVELOPE subject
  EXPECT_NE(all.find("a6 OK [APPENDUID"), std::string::npos) << all;
  EXPECT_NE(all.find("* 2 EXISTS"), std::string::npos) << all;
  EXPECT_NE(all.find("* SEARCH 1 2"), std::string::npos) << all;
  EXPECT_NE(all.find("* STATUS \"Archive\" (MESSAGES 2 UIDNEXT 3)"), std::string::npos) << all;
  EXPECT_NE(all.find("+ idling"), std::string::npos) << all;
  EXPECT_NE(all.find("b3 OK IDLE terminated"), std::string::npos) << all;
}

TEST_F(ImapSession, EveryStoreFailureGetsACodedReply) {
  for (auto kind : {fault_kind::error, fault_kind::exception}) {
    for (uint32_t n = 1; n < 60; ++n) {
      auto h = fresh();
      h->inject_store_faults(n, kind);
      std::vector<std::string> lines;
      h->run(run_session, [&](script_client& c) {
        lines.push_back(c.line());
        for (auto& cmd : commands()) {
          auto lit = cmd.find("}\r\n");
          if (lit != std::string::npos && cmd.find("LOGIN") == std::string::npos) {
            c.send(cmd.substr(0, lit + 3));
            auto cont = c.line();
            lines.push_back(cont);
            if (cont.rfind("+", 0) != 0) {
              if (cont.empty()) return;
              continue;
            }
            c.send(cmd.substr(lit + 3));
          } else if (cmd.find("IDLE") != std::string::npos) {
            c.send("b3 IDLE\r\n");
            auto cont = c.line();
            lines.push_back(cont);
            if (cont.empty()) return;
            if (cont.rfind("+", 0) == 0) c.send("DONE\r\n");
          } else {
            c.send(cmd);
          }
          auto got = until_tagged(c, cmd.substr(0, 2));
          if (got.empty()) return;
          lines.insert(lines.end(), got.begin(), got.end());
        }
      });
      EXPECT_EQ(h->escaped_exception(), "") << "fault at " << n;
      for (auto& l : lines) {
        EXPECT_EQ(l.find("/data/"), std::string::npos) << l;
        EXPECT_EQ(l.find("bad_alloc"), std::string::npos) << l;
        if (l.find(" NO ") != std::string::npos && l.rfind("* ", 0) != 0)
          EXPECT_NE(l.find(" NO ["), std::string::npos) << "uncoded refusal: " << l;
      }
      if (!h->store_fault_fired()) break;  // the script passed every operation
    }
  }
}

// RFC 9051 §5.4: a server may end an IDLE that outlives its inactivity
// timer; the client is told why before the connection closes, and no DONE
// is waited for. (The schema keeps authenticated_timeout at 29 minutes or
// more; 2 s is stored past it to see the timeout fire.)
TEST_F(ImapSession, IdlePastTheAuthenticatedTimeoutEndsWithACodedBye) {
  auto h = fresh();
  h->set_unchecked("authenticated_timeout", "2s");
  std::vector<std::string> lines;
  bool closed = false;
  auto start = std::chrono::steady_clock::now();
  h->run(run_session, [&](script_client& c) {
    c.line();
    c.send("a1 LOGIN joe@example.com pw\r\n");
    until_tagged(c, "a1");
    c.send("a2 SELECT INBOX\r\n");
    until_tagged(c, "a2");
    c.send("a3 IDLE\r\n");
    lines.push_back(c.line());
    for (auto l = c.line(); !l.empty(); l = c.line()) lines.push_back(l);
    closed = c.at_eof();
  });
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].rfind("+ ", 0), 0u) << lines[0];
  EXPECT_EQ(lines[1],
            "* BYE [UNAVAILABLE] IDLE timed out (authenticated_timeout); reconnect to go on");
  EXPECT_TRUE(closed);
  EXPECT_GE(took, std::chrono::seconds(2));
  EXPECT_EQ(h->escaped_exception(), "");
}

}  // namespace postern::session::imap

namespace postern::session::imap {
// A session that stays logged in while mail comes and goes (IMAP4rev1
// \Recent) keeps a handful of claimed ranges, not one per new message, and
// still counts and finds exactly the recent messages it lists.
TEST(SelectedFolder, RecentRangesStayFewWhileMailComesAndGoes) {
  selected_folder sel;
  for (uint32_t uid = 1; uid <= 1000; ++uid) {
    sel.uids.push_back(uid);
    sel.add_recent(uid, uid + 1);
    if (sel.uids.size() > 10) sel.uids.erase(sel.uids.begin());  // expunged
  }
  EXPECT_EQ(sel.recent.size(), 1u);
  EXPECT_EQ(sel.recent_count(), 10u);
  EXPECT_TRUE(sel.is_recent(995));
  EXPECT_FALSE(sel.is_recent(1001));
  // UIDs 1001-1002 were claimed by another session: a gap, two ranges.
  sel.uids.insert(sel.uids.end(), {1001, 1002, 1003});
  sel.add_recent(1003, 1004);
  EXPECT_EQ(sel.recent.size(), 2u);
  EXPECT_EQ(sel.recent_count(), 11u);
  EXPECT_FALSE(sel.is_recent(1001));
  EXPECT_TRUE(sel.is_recent(1003));
  // Once every UID of the first range is gone, so is the range.
  sel.uids = {1003};
  sel.add_recent(1004, 1005);
  EXPECT_EQ(sel.recent.size(), 1u);
  EXPECT_EQ(sel.recent_count(), 1u);
}
}  // namespace postern::session::imap
