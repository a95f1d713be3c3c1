// Store behaviour the session engine relies on: appending from a spool file,
// the canonical stream, UIDVALIDITY and UID limits, opening without writing,
// and other processes' commits waking this process's sessions.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "db/sqlite.hpp"
#include "store/canonical.hpp"
#include "store/store.hpp"

namespace postern::store {

namespace {

std::string temp_dir() {
  auto p = std::filesystem::temp_directory_path() /
           ("postern-store-engine-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(p);
  return p.string();
}

std::string read_all(mailbox& mb, const message_meta& m) {
  auto fd = mb.open_blob(m.blob_id, m.uid);
  EXPECT_TRUE(fd);
  std::string out(m.size, '\0');
  EXPECT_EQ(::pread(*fd, out.data(), out.size(), 0), static_cast<ssize_t>(out.size()));
  ::close(*fd);
  return out;
}

}  // namespace

TEST(CanonicalStream, EqualsCanonicalizeAtEverySplit) {
  for (std::string in :
       {"a\nb", "a\r\nb\r\n", "a\rb\r\n", "", ".x\n..y\r\n.", "a\r", "\r\n\r\n", "x\r\r\n.z",
        ".a\r\n.b\r\nc.\r\n", "\n.", "a\r\n\r\n.\r\n", "\r", "\n", ".\r\n"}) {
    auto whole = canonicalize(in);
    std::string want = whole ? *whole : in;
    for (size_t split = 0; split <= in.size(); ++split) {
      canonical_stream cs;
      std::string out;
      cs.feed(std::string_view(in).substr(0, split), out);
      cs.feed(std::string_view(in).substr(split), out);
      cs.finish(out);
      EXPECT_EQ(out, want) << "input " << testing::PrintToString(in) << " split " << split;
      EXPECT_EQ(cs.dot_lines(), count_dot_lines(want)) << testing::PrintToString(in);
      // In place, as DATA uses it: pieces appended to the output, then fixed up.
      canonical_stream ip;
      std::string buf;
      for (auto piece :
           {std::string_view(in).substr(0, split), std::string_view(in).substr(split)}) {
        size_t from = buf.size();
        buf += piece;
        ip.feed_in_place(buf, from);
      }
      ip.finish(buf);
      EXPECT_EQ(buf, want) << "in place: " << testing::PrintToString(in) << " split " << split;
      EXPECT_EQ(ip.dot_lines(), count_dot_lines(want)) << testing::PrintToString(in);
    }
  }
}

TEST(SpoolAppend, LinksTheSpoolFileAsTheBlobAndKeepsIt) {
  auto dir = temp_dir();
  auto st = make_sqlite_store(dir);
  auto spool = st->create_spool();
  ASSERT_TRUE(spool) << spool.err().message;
  std::string msg = "Subject: spooled\r\n\r\n.dot\r\nbody\r\n";
  ASSERT_EQ(::write(spool->fd, msg.data(), msg.size()), static_cast<ssize_t>(msg.size()));
  auto mb = st->open(7);
  ASSERT_TRUE(mb);
  auto uid = (*mb)->append_file("INBOX", spooled_message{&*spool, msg.size(), 1, 0, 0, {}});
  ASSERT_TRUE(uid) << uid.err().message;
  auto list = (*mb)->list("INBOX");
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].header_size, msg.find("\r\n\r\n") + 4);
  EXPECT_EQ((*list)[0].dot_lines, 1u);
  // One spool, several recipients (LMTP): a second mailbox links it too.
  auto other = st->open(8);
  ASSERT_TRUE(other);
  ASSERT_TRUE((*other)->append_file("INBOX", spooled_message{&*spool, msg.size(), 1, 0, 0, {}}));
  // On a file system with O_TMPFILE the spool file never had a name.
  auto spool_dir = std::filesystem::path(dir) / "spool";
  EXPECT_EQ(spool->unnamed, std::filesystem::is_empty(spool_dir));
  spool->discard();  // the blobs are further links: they survive the spool file
  EXPECT_TRUE(std::filesystem::is_empty(spool_dir));
  EXPECT_EQ(read_all(**mb, (*list)[0]), msg);
  auto other_list = (*other)->list("INBOX");
  ASSERT_EQ(other_list->size(), 1u);
  EXPECT_EQ(read_all(**other, (*other_list)[0]), msg);
}

TEST(Uidvalidity, NeverRepeatsWithinOneMailboxEvenInTheSameSecond) {
  auto dir = temp_dir();
  auto st = make_sqlite_store(dir);
  auto mb = st->open(1);
  ASSERT_TRUE(mb);
  auto inbox = (*mb)->folder("INBOX");
  ASSERT_TRUE(inbox);
  // A folder deleted and re-created: simulate by removing the row directly.
  {
    auto db = db::database::open(dir + "/mail/1/index.sqlite", false);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("DELETE FROM folders"));
  }
  auto again = (*mb)->folder("INBOX");
  ASSERT_TRUE(again);
  EXPECT_GT(again->uidvalidity, inbox->uidvalidity);
}

TEST(UidLimit, AFolderWithEveryUidUsedRefusesInsteadOfWrapping) {
  auto dir = temp_dir();
  auto st = make_sqlite_store(dir);
  auto mb = st->open(1);
  ASSERT_TRUE(mb);
  ASSERT_TRUE((*mb)->append("INBOX", new_message{"Subject: a\r\n\r\nx\r\n", 0, 0}));
  {
    auto db = db::database::open(dir + "/mail/1/index.sqlite", false);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("UPDATE folders SET uidnext = 4294967295"));
  }
  auto last = (*mb)->append("INBOX", new_message{"Subject: b\r\n\r\nx\r\n", 0, 0});
  ASSERT_TRUE(last) << last.err().message;
  EXPECT_EQ(*last, 4294967295u);
  auto refused = (*mb)->append("INBOX", new_message{"Subject: c\r\n\r\nx\r\n", 0, 0});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.err().code, base::errc::limit_exceeded);
  EXPECT_NE(refused.err().message.find("4294967295"), std::string::npos);
  EXPECT_EQ((*mb)->list("INBOX")->size(), 2u);
}

TEST(OpenExisting, OnlyReads) {
  auto dir = temp_dir();
  {
    auto st = make_sqlite_store(dir);
    ASSERT_TRUE((*st->open(1))->append("INBOX", new_message{"Subject: a\r\n\r\nx\r\n", 0, 0}));
  }
  // Another process holds the write lock: opening must still succeed at once.
  auto writer = db::database::open(dir + "/mail/1/index.sqlite", false);
  ASSERT_TRUE(writer);
  ASSERT_TRUE(writer->exec("BEGIN IMMEDIATE"));
  auto st = make_sqlite_store(dir);
  auto started = std::chrono::steady_clock::now();
  auto mb = st->open(1);
  ASSERT_TRUE(mb) << mb.err().message;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  EXPECT_EQ((*mb)->list("INBOX")->size(), 1u);
  ASSERT_TRUE(writer->exec("ROLLBACK"));
}

TEST(ExternalChanges, AnotherProcessesDeliveryWakesThisProcessesSubscribers) {
  auto dir = temp_dir();
  auto node = make_sqlite_store(dir);
  auto mb = node->open(1);
  ASSERT_TRUE(mb);
  ASSERT_TRUE((*mb)->folder("INBOX"));
  std::atomic<int> woken{0};
  auto id = (*mb)->changes().subscribe([&](uint64_t) { ++woken; });
  node->poll_external_changes();  // the baseline
  EXPECT_EQ(woken.load(), 0);
  {
    auto deliver = make_sqlite_store(dir);  // as `postern deliver` would
    ASSERT_TRUE((*deliver->open(1))->append("INBOX", new_message{"Subject: x\r\n\r\ny\r\n", 0, 0}));
  }
  node->poll_external_changes();
  EXPECT_EQ(woken.load(), 1);
  node->poll_external_changes();  // nothing new
  EXPECT_EQ(woken.load(), 1);
  (*mb)->changes().unsubscribe(id);
}

}  // namespace postern::store
