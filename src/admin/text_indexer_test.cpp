// The indexer thread: it takes a mailbox's queue in turns, and only a
// backlog past catch_up_backlog makes it leave SCHED_IDLE for nice 10.
#include "admin/text_indexer.hpp"

#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace postern::admin {

namespace {
std::string temp_dir() {
  auto p = std::filesystem::temp_directory_path() /
           ("postern-indexer-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(p);
  return p.string();
}

// The scheduling policy of this process's thread named `name` (proc(5):
// /proc/self/task/TID/stat field 41), or -1.
int policy_of_thread(const std::string& name) {
  for (auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string c;
    std::getline(comm, c);
    if (c != name) continue;
    std::ifstream stat(task.path() / "stat");
    std::string line((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    std::istringstream rest(line.substr(line.rfind(')') + 1));
    std::string field;
    for (int i = 3; i <= 41 && rest >> field; ++i) {
    }
    return std::stoi(field);
  }
  return -1;
}
}  // namespace

TEST(TextIndexer, CatchesUpPastTheBacklogAndOtherwiseTakesOnlyIdleCpu) {
  auto dir = temp_dir();
  auto st = store::make_sqlite_store(dir);
  auto mb = *st->open(1);
  for (int i = 0; i < 50; ++i) {
    std::string msg = "Subject: note " + std::to_string(i) + "\r\n\r\nword" + std::to_string(i) +
                      " in the body\r\n";
    ASSERT_TRUE(mb->append("INBOX", {msg, 0, 0}));
  }
  text_indexer indexer(*st, dir, nullptr, {.batch = 8, .catch_up_backlog = 20});
  indexer.start();
  indexer.wake(1);
  // SCHED_IDLE: on a machine whose cores other tests keep busy it may wait
  // long for a turn.
  for (int i = 0; i < 1200 && (indexer.indexed() < 50 || indexer.queued() > 0); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(indexer.indexed(), 50u);
  EXPECT_EQ(indexer.queued(), 0u);
  // Turns of 8: the first knows no backlog yet (50 -> 42); then 42, 34, 26
  // are past 20, and 18 and 10 not yet under half of it: five turns catching
  // up; the last 2 wait for the next gathering and go at SCHED_IDLE.
  EXPECT_EQ(indexer.catch_up_turns(), 5u);
  EXPECT_EQ(policy_of_thread("postern-index"), SCHED_IDLE);
  auto hits = mb->search_text(std::vector<store::text_query>{{store::text_field::body, "word37"}});
  ASSERT_TRUE(hits);
  EXPECT_TRUE(hits->unindexed.empty());
  EXPECT_EQ(hits->hits[0].size(), 1u);
  indexer.stop();
  std::filesystem::remove_all(dir);
}

}  // namespace postern::admin
