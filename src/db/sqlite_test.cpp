// The statement cache and the per-commit durability of db::database.
#include "db/sqlite.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace postern::db {

namespace {
std::string temp_db() {
  auto p = std::filesystem::temp_directory_path() /
           ("postern-sqlite-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".sqlite");
  std::filesystem::remove(p);
  return p.string();
}

int64_t count(database& db) {
  auto st = db.prepare("SELECT count(*) FROM t");
  EXPECT_TRUE(st);
  EXPECT_EQ(st->step(), step_result::row);
  return st->int64(0);
}
}  // namespace

TEST(Sqlite, CachedStatementComesBackResetAndUnbound) {
  auto db = database::open(temp_db(), true);
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->exec("CREATE TABLE t(v INTEGER)"));
  for (int i = 0; i < 3; ++i) {
    auto ins = db->prepare("INSERT INTO t(v) VALUES(?)");
    ASSERT_TRUE(ins);
    if (i < 2) ins->bind(1, int64_t{i});  // the third sees no old binding: NULL
    ASSERT_EQ(ins->step(), step_result::done);
  }
  {
    auto nulls = db->prepare("SELECT count(*) FROM t WHERE v IS NULL");
    ASSERT_EQ(nulls->step(), step_result::row);
    EXPECT_EQ(nulls->int64(0), 1);
  }
  // A SELECT left mid-way is reset when let go: it holds no read open, so a
  // write from another connection is seen by the next use.
  {
    auto rows = db->prepare("SELECT v FROM t ORDER BY rowid");
    ASSERT_EQ(rows->step(), step_result::row);
  }
  auto other = database::open(db->path(), false);
  ASSERT_TRUE(other->exec("INSERT INTO t(v) VALUES(9)"));
  EXPECT_EQ(count(*db), 4);
}

TEST(Sqlite, SameTextInUseTwiceGetsTwoStatements) {
  auto db = database::open(temp_db(), true);
  ASSERT_TRUE(db->exec("CREATE TABLE t(v INTEGER); INSERT INTO t VALUES(1),(2),(3)"));
  const char* sql = "SELECT v FROM t WHERE v >= ? ORDER BY v";
  auto outer = db->prepare(sql);
  outer->bind(1, int64_t{1});
  int64_t pairs = 0;
  while (outer->step() == step_result::row) {
    auto inner = db->prepare(sql);  // the cached one is busy: a fresh one
    ASSERT_TRUE(inner);
    inner->bind(1, outer->int64(0));
    while (inner->step() == step_result::row) ++pairs;
  }
  EXPECT_EQ(pairs, 3 + 2 + 1);
}

TEST(Sqlite, DeferredCommitIsVisibleAndSyncWalSucceeds) {
  auto db = database::open(temp_db(), true);
  ASSERT_TRUE(db->exec("CREATE TABLE t(v INTEGER)"));
  {
    transaction txn(*db, sync_mode::deferred);
    ASSERT_TRUE(txn.begin());
    ASSERT_TRUE(db->exec("INSERT INTO t VALUES(1)"));
    ASSERT_TRUE(txn.commit());
  }
  auto mode = db->prepare("PRAGMA synchronous");
  ASSERT_EQ(mode->step(), step_result::row);
  EXPECT_EQ(mode->int64(0), 1);  // NORMAL
  mode.value().reset();
  ASSERT_TRUE(db->sync_wal());
  {
    transaction txn(*db);  // full again for the next commit
    ASSERT_TRUE(txn.begin());
    ASSERT_TRUE(db->exec("INSERT INTO t VALUES(2)"));
    ASSERT_TRUE(txn.commit());
  }
  ASSERT_EQ(mode->step(), step_result::row);
  EXPECT_EQ(mode->int64(0), 2);  // FULL
  auto other = database::open(db->path(), false);
  EXPECT_EQ(count(*other), 2);
}

TEST(Sqlite, DeletingALargeBlobWritesNoFreedPagesToTheWal) {
  // Debian's SQLite zeroes freed pages (SECURE_DELETE): deleting a message
  // kept in the index rewrote all of it into the WAL. Freed pages go to the
  // freelist untouched; the delete writes only the pages it changes.
  auto db = database::open(temp_db(), true);
  ASSERT_TRUE(db->exec("CREATE TABLE b(id INTEGER PRIMARY KEY, bytes BLOB)"));
  auto ins = db->prepare("INSERT INTO b(bytes) VALUES(?)");
  std::string blob(100 * 1024, 'x');
  ins->bind_blob(1, blob);
  ASSERT_EQ(ins->step(), step_result::done);
  ins.value().reset();
  ASSERT_TRUE(db->exec("PRAGMA wal_checkpoint(TRUNCATE)"));
  auto wal = db->path() + "-wal";
  ASSERT_EQ(std::filesystem::file_size(wal), 0u);
  ASSERT_TRUE(db->exec("DELETE FROM b"));
  // The table's root and the freelist trunk, each a 4 KiB page and its frame
  // header, and the WAL header: not the 25 pages the blob took.
  EXPECT_LT(std::filesystem::file_size(wal), 4 * (4096 + 24) + 32);
  auto st = db->prepare("SELECT count(*) FROM b");
  ASSERT_EQ(st->step(), step_result::row);
  EXPECT_EQ(st->int64(0), 0);
}

}  // namespace postern::db
