// A thin RAII layer over SQLite used by the store and the directory.
//
// Errors: open() and exec() return base::status with the file and SQLite's
// message; statements report failure through step() == step_result::error.
// Threads: one db object is used by one thread at a time; callers lock.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.hpp"

namespace postern::db {

class statement;

class database {
 public:
  database() = default;
  database(const database&) = delete;
  database& operator=(const database&) = delete;
  database(database&& o) noexcept : db_(o.db_), path_(std::move(o.path_)) { o.db_ = nullptr; }
  database& operator=(database&& o) noexcept {
    if (this != &o) {
      database gone(std::move(*this));  // closes the old handle
      db_ = o.db_;
      path_ = std::move(o.path_);
      o.db_ = nullptr;
    }
    return *this;
  }
  ~database();

  // Opens (creating if asked) with WAL, synchronous=FULL and a busy timeout so
  // that a second process (the `deliver` command) waits instead of failing.
  static base::result<database> open(const std::string& path, bool create);

  base::status exec(std::string_view sql);
  base::result<statement> prepare(std::string_view sql);
  int64_t last_insert_rowid() const;
  int changes() const;
  std::string message() const;
  const std::string& path() const { return path_; }
  sqlite3* handle() const { return db_; }
  base::error error_of(std::string_view what) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

enum class step_result { row, done, error };

class statement {
 public:
  statement(sqlite3_stmt* s, sqlite3* db) : stmt_(s), db_(db) {}
  statement(const statement&) = delete;
  statement(statement&& o) noexcept : stmt_(o.stmt_), db_(o.db_) { o.stmt_ = nullptr; }
  ~statement();

  statement& bind(int index, int64_t v);
  statement& bind(int index, std::string_view v);
  statement& bind_null(int index);
  step_result step();
  void reset();

  int64_t int64(int col) const;
  std::string text(int col) const;
  bool is_null(int col) const;

 private:
  sqlite3_stmt* stmt_;
  sqlite3* db_;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back unless commit() succeeded.
class transaction {
 public:
  explicit transaction(database& db) : db_(db) {}
  ~transaction();
  base::status begin();
  base::status commit();

 private:
  database& db_;
  bool open_ = false;
};

}  // namespace postern::db
