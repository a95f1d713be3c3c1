#include "store/store.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <thread>

#include "db/sqlite.hpp"
#include "store/canonical.hpp"

namespace postern::store {

namespace {
std::string temp_dir() {
  auto p = std::filesystem::temp_directory_path() /
           ("postern-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(p);
  return p.string();
}

std::string read_blob(mailbox& mb, const message_meta& m) {
  auto fd = mb.open_blob(m.blob_id, m.uid);
  EXPECT_TRUE(fd);
  std::string out(m.size, '\0');
  EXPECT_EQ(::pread(*fd, out.data(), out.size(), 0), static_cast<ssize_t>(out.size()));
  ::close(*fd);
  return out;
}

const std::string msg = "From: a@example.com\r\nSubject: hi\r\n\r\n.dot line\r\nbody\r\n";
}  // namespace

TEST(Canonical, BareLfAndMissingFinalNewlineBecomeCrlf) {
  EXPECT_FALSE(canonicalize("a\r\nb\r\n"));
  EXPECT_EQ(*canonicalize("a\nb"), "a\r\nb\r\n");
  EXPECT_EQ(*canonicalize("a\rb\r\n"), "a\r\nb\r\n");
  EXPECT_EQ(count_dot_lines(".a\r\nb\r\n.c\r\n"), 2u);
  EXPECT_EQ(count_dot_lines("a.\r\nb\r\n"), 0u);
}

TEST(SqliteStore, AppendListReadBackByteExact) {
  auto st = make_sqlite_store(temp_dir());
  auto mb = st->open(1);
  ASSERT_TRUE(mb) << mb.err().message;
  auto uid = (*mb)->append("INBOX", new_message{msg, 1700000000, 0});
  ASSERT_TRUE(uid) << uid.err().message;
  EXPECT_EQ(*uid, 1u);
  auto list = (*mb)->list("INBOX");
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  auto& m = (*list)[0];
  EXPECT_EQ(m.size, msg.size());
  EXPECT_EQ(m.internal_date, 1700000000);
  EXPECT_EQ(m.dot_lines, 1u);
  EXPECT_EQ(m.header_size, msg.find("\r\n\r\n") + 4);
  EXPECT_EQ(read_blob(**mb, m), msg);
  auto f = (*mb)->folder("INBOX");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->uidnext, 2u);
  EXPECT_EQ(f->messages, 1u);
  EXPECT_GT(f->highestmodseq, 1u);
}

TEST(SqliteStore, UidsNeverRepeatAfterExpungeAndReopen) {
  auto dir = temp_dir();
  std::set<uint32_t> seen;
  {
    auto st = make_sqlite_store(dir);
    auto mb = *st->open(7);
    for (int i = 0; i < 3; ++i) seen.insert(*mb->append("INBOX", new_message{msg, 0, 0}));
    std::vector<uint32_t> all(seen.begin(), seen.end());
    auto removed = mb->expunge("INBOX", all);
    ASSERT_TRUE(removed);
    EXPECT_EQ(*removed, 3u);
  }
  auto st = make_sqlite_store(dir);
  auto mb = *st->open(7);
  auto uid = mb->append("INBOX", new_message{msg, 0, 0});
  ASSERT_TRUE(uid);
  EXPECT_FALSE(seen.count(*uid));
  EXPECT_EQ(*uid, 4u);
}

TEST(SqliteStore, ExpungedMessageBlobIsGoneForOtherSessions) {
  auto st = make_sqlite_store(temp_dir());
  auto mb = *st->open(1);
  ASSERT_TRUE(mb->append("INBOX", new_message{msg, 0, 0}));
  auto snapshot = *mb->list("INBOX");  // another session's view at login
  uint32_t uid = snapshot[0].uid;
  ASSERT_TRUE(mb->expunge("INBOX", std::span(&uid, 1)));
  // Gone at once, though its file waits for the WAL sync (deferred commit),
  // and gone after the watcher's sync has removed the file.
  for (int synced = 0; synced < 2; ++synced) {
    auto fd = mb->open_blob(snapshot[0].blob_id, snapshot[0].uid);
    ASSERT_FALSE(fd);
    EXPECT_EQ(fd.err().code, base::errc::not_found);
    EXPECT_FALSE(mb->open_blob_cached(snapshot[0].blob_id));
    st->poll_external_changes();
  }
  // Expunging again is harmless.
  EXPECT_EQ(*mb->expunge("INBOX", std::span(&uid, 1)), 0u);
}

TEST(SqliteStore, ConcurrentAppendsGetDistinctUidsAndNotify) {
  auto st = make_sqlite_store(temp_dir());
  auto mb = *st->open(3);
  std::atomic<int> notified{0};
  mb->changes().subscribe([&](uint64_t) { ++notified; });
  std::vector<std::thread> threads;
  std::vector<std::vector<uint32_t>> uids(8);
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        auto u = mb->append("INBOX", new_message{msg, 0, 0});
        ASSERT_TRUE(u) << u.err().message;
        uids[t].push_back(*u);
      }
    });
  for (auto& t : threads) t.join();
  std::set<uint32_t> all;
  for (auto& v : uids) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), 80u);
  EXPECT_EQ(*all.rbegin(), 80u);
  EXPECT_EQ(notified.load(), 80);
  EXPECT_EQ(mb->list("INBOX")->size(), 80u);
}

TEST(SqliteStore, SameUserSharesOneMailboxObject) {
  auto st = make_sqlite_store(temp_dir());
  auto a = *st->open(5);
  auto b = *st->open(5);
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(pop3_uidl(0x5f000000, 3), "000000035F000000");
}

}  // namespace postern::store

namespace postern::store {

TEST(SqliteStore, MailboxInUseStaysSharedWhenEvictedFromTheWarmSet) {
  auto st = make_sqlite_store(temp_dir());
  auto held = *st->open(1);  // a session holds user 1's mailbox
  for (int64_t id = 2; id < 100; ++id) ASSERT_TRUE(st->open(id));
  // User 1 fell out of the warm set, but the session's object is still the one.
  EXPECT_EQ(st->open(1)->get(), held.get());
}

}  // namespace postern::store

namespace postern::store {

TEST(SqliteStore, IndexOfAnotherFormatIsRefusedWithTheFileNamed) {
  auto dir = temp_dir();
  ASSERT_TRUE(make_sqlite_store(dir)->open(9));
  {
    auto db = db::database::open(dir + "/mail/9/index.sqlite", false);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("PRAGMA user_version = 99"));
  }
  auto again = make_sqlite_store(dir)->open(9);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.err().code, base::errc::corrupt);
  EXPECT_NE(again.err().message.find("mail/9/index.sqlite has index format 99"), std::string::npos)
      << again.err().message;
}

}  // namespace postern::store
