// A thin RAII layer over SQLite used by the store and the directory.
//
// Errors: open() and exec() return base::status with the file and SQLite's
// message; statements report failure through step() == step_result::error.
// Threads: one db object is used by one thread at a time; callers lock.
//
// Statements are cached: prepare() of a text seen before hands back the
// statement compiled the first time (reset when the caller lets it go), since
// compiling SQL cost a third of the node's CPU under a mixed IMAP load.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/error.hpp"

namespace postern::db {

class statement;

// How far a COMMIT is durable when it returns (PRAGMA synchronous, WAL mode).
//   full:     the WAL is fsync'd: the change survives power loss. Deliveries,
//             anything acknowledged as mail.
//   deferred: written to the WAL but not fsync'd: it survives the process
//             being killed (the kernel holds the write), and becomes durable
//             against power loss at the connection's next full commit,
//             checkpoint or sync_wal(). Flag changes and expunges, as
//             Dovecot does with its index log.
enum class sync_mode { full, deferred };

namespace detail {
// A compiled statement kept by its database; `busy` while a caller holds it.
struct cached_statement {
  sqlite3_stmt* stmt = nullptr;
  bool busy = false;
};
struct text_hash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
}  // namespace detail

class database {
 public:
  database() = default;
  database(const database&) = delete;
  database& operator=(const database&) = delete;
  database(database&& o) noexcept
      : db_(o.db_), path_(std::move(o.path_)), sync_(o.sync_), cache_(std::move(o.cache_)) {
    o.db_ = nullptr;
  }
  database& operator=(database&& o) noexcept {
    if (this != &o) {
      database gone(std::move(*this));  // closes the old handle
      db_ = o.db_;
      path_ = std::move(o.path_);
      sync_ = o.sync_;
      cache_ = std::move(o.cache_);
      o.db_ = nullptr;
    }
    return *this;
  }
  ~database();

  // Opens (creating if asked) with WAL, synchronous=FULL and a busy timeout so
  // that a second process (the `deliver` command) waits instead of failing.
  static base::result<database> open(const std::string& path, bool create);
  // How long a statement waits for another connection's lock before it
  // fails with SQLITE_BUSY (open() sets default_busy_timeout_ms; 0 fails at once).
  static constexpr int default_busy_timeout_ms = 10000;
  void set_busy_timeout(int ms);

  base::status exec(std::string_view sql);
  // One SQL statement, from the cache when this text was prepared before and
  // that statement is not in use (else compiled afresh and not kept).
  base::result<statement> prepare(std::string_view sql);
  // Sets the durability of the following commits; outside a transaction.
  base::status set_sync(sync_mode m);
  // fsyncs the WAL, making every commit so far durable (after deferred ones).
  base::status sync_wal();
  int64_t last_insert_rowid() const;
  int changes() const;
  std::string message() const;
  const std::string& path() const { return path_; }
  sqlite3* handle() const { return db_; }
  base::error error_of(std::string_view what) const;

 private:
  // Bounds the cache: texts built at run time (none today) cannot grow it.
  static constexpr size_t max_cached = 64;
  sqlite3* db_ = nullptr;
  std::string path_;
  sync_mode sync_ = sync_mode::full;
  // Entries are stable in memory (unique_ptr), so a statement may point at
  // its entry while the map rehashes. Finalized before the handle closes.
  std::unordered_map<std::string, std::unique_ptr<detail::cached_statement>, detail::text_hash,
                     std::equal_to<>>
      cache_;
};

enum class step_result { row, done, error };

class statement {
 public:
  // `cached` set: the statement belongs to its database's cache and is only
  // reset (and marked free) when this object ends.
  statement(sqlite3_stmt* s, sqlite3* db, detail::cached_statement* cached = nullptr)
      : stmt_(s), db_(db), cached_(cached) {}
  statement(const statement&) = delete;
  statement(statement&& o) noexcept : stmt_(o.stmt_), db_(o.db_), cached_(o.cached_) {
    o.stmt_ = nullptr;
    o.cached_ = nullptr;
  }
  ~statement();

  statement& bind(int index, int64_t v);
  statement& bind(int index, std::string_view v);
  // Bytes as a BLOB value (copied), for data that is not text.
  statement& bind_blob(int index, std::string_view v);
  statement& bind_null(int index);
  step_result step();
  void reset();

  int64_t int64(int col) const;
  std::string text(int col) const;
  // A column's bytes without a copy: valid until the next step() or reset().
  std::string_view bytes(int col) const;
  bool is_null(int col) const;

 private:
  sqlite3_stmt* stmt_;
  sqlite3* db_;
  detail::cached_statement* cached_;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back unless commit() succeeded (all
// three statements from the cache).
class transaction {
 public:
  explicit transaction(database& db, sync_mode sync = sync_mode::full) : db_(db), sync_(sync) {}
  ~transaction();
  base::status begin();
  base::status commit();

 private:
  database& db_;
  sync_mode sync_;
  bool open_ = false;
};

}  // namespace postern::db
