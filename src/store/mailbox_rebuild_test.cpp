#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "store/store.hpp"

namespace postern::store {

namespace {
std::string temp_dir() {
  auto p = std::filesystem::temp_directory_path() /
           ("postern-rebuild-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(p);
  return p.string();
}
std::string message(int i) {
  return "From: a@example.com\r\nSubject: number " + std::to_string(i) + "\r\n\r\n.dot line\r\n" +
         std::string(200000, 'x') + "\r\n";
}
}  // namespace

TEST(MailboxRebuild, KeepsFoldersFlagsAndOrderUnderNewUidvalidity) {
  auto dir = temp_dir();
  auto st = make_sqlite_store(dir);
  uint32_t old_inbox = 0;
  {
    auto mb = st->open(1);
    ASSERT_TRUE(mb) << mb.err().message;
    ASSERT_TRUE((*mb)->create_folder("Work", ""));
    ASSERT_TRUE((*mb)->append("INBOX", new_message{message(1), 1700000000, flag_seen}));
    ASSERT_TRUE((*mb)->append("INBOX", new_message{"Subject: small\r\n\r\nhi\r\n", 0, 0}));
    ASSERT_TRUE((*mb)->append("Work", new_message{message(3), 0, flag_flagged}));
    old_inbox = (*mb)->folder("INBOX")->uidvalidity;
  }
  // Held by a session: refused.
  {
    auto held = st->open(1);
    ASSERT_TRUE(held);
    auto r = st->rebuild(1);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.err().code, base::errc::in_use);
  }
  auto r = st->rebuild(1);
  ASSERT_TRUE(r) << r.err().message;
  EXPECT_TRUE(r->uidvalidity_changed);
  EXPECT_EQ(r->messages, 3u);
  auto mb = st->open(1);
  ASSERT_TRUE(mb) << mb.err().message;
  auto inbox = (*mb)->list("INBOX");
  ASSERT_TRUE(inbox);
  ASSERT_EQ(inbox->size(), 2u);
  EXPECT_EQ((*inbox)[0].flags, uint32_t{flag_seen});
  EXPECT_EQ((*inbox)[0].internal_date, 1700000000);
  EXPECT_EQ((*inbox)[0].dot_lines, 1u);
  auto work = (*mb)->list("Work");
  ASSERT_TRUE(work);
  ASSERT_EQ(work->size(), 1u);
  EXPECT_EQ((*work)[0].flags, uint32_t{flag_flagged});
  EXPECT_GT((*mb)->folder("INBOX")->uidvalidity, old_inbox);
  EXPECT_FALSE((*mb)->folder("Recovered"));
  auto check = (*mb)->check(check_mode::check);
  ASSERT_TRUE(check) << check.err().message;
  EXPECT_TRUE(check->findings.empty()) << check->findings[0].detail;
  std::filesystem::remove_all(dir);
}

}  // namespace postern::store
