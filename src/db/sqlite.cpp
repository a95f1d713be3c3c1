#include "db/sqlite.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace postern::db {

database::~database() {
  for (auto& [sql, c] : cache_) sqlite3_finalize(c->stmt);
  if (db_) sqlite3_close_v2(db_);
}

namespace {
// SQLite's memory statistics take one process-wide mutex on every
// allocation; nothing reads them, and with 32 store threads it was contended.
// Must run before SQLite initializes, hence at the first open.
void configure_sqlite_once() {
  static const bool done = [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return true;
  }();
  (void)done;
}
}  // namespace

void database::set_busy_timeout(int ms) { sqlite3_busy_timeout(db_, ms); }

base::result<database> database::open(const std::string& path, bool create) {
  configure_sqlite_once();
  database d;
  d.path_ = path;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  if (sqlite3_open_v2(path.c_str(), &d.db_, flags, nullptr) != SQLITE_OK) {
    std::string msg = d.db_ ? sqlite3_errmsg(d.db_) : "out of memory";
    return base::error{base::errc::io_error, fmt::format("cannot open database {}: {}", path, msg),
                       msg};
  }
  sqlite3_busy_timeout(d.db_, default_busy_timeout_ms);
  // WAL lets readers proceed during a delivery; synchronous=FULL makes every
  // COMMIT durable before it returns, which is what an acknowledgement needs.
  // Switching to WAL writes the file header, so it happens only when the
  // database is not in WAL mode yet: opening an existing one only reads.
  bool wal = false;
  {
    auto mode = d.prepare("PRAGMA journal_mode");
    if (!mode) return mode.err();
    wal = mode->step() == step_result::row && mode->text(0) == "wal";
  }
  if (!wal)
    if (auto s = d.exec("PRAGMA journal_mode=WAL"); !s) return s.err();
  // Debian builds SQLite with SECURE_DELETE, which zeroes every freed page: an
  // expunged message kept in the index (up to 128 KiB) went to the WAL a second
  // time as zeros, and again at the checkpoint. FAST still clears deleted cells
  // on the pages a commit writes anyway but leaves freed pages for reuse, as a
  // deleted file's blocks are (https://sqlite.org/pragma.html#pragma_secure_delete).
  if (auto s =
          d.exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA secure_delete=FAST;");
      !s)
    return s.err();
  return d;
}

base::error database::error_of(std::string_view what) const {
  std::string msg = db_ ? sqlite3_errmsg(db_) : "no database";
  int code = db_ ? sqlite3_errcode(db_) : SQLITE_ERROR;
  auto kind = code == SQLITE_FULL ? base::errc::disk_full
              : (code == SQLITE_BUSY || code == SQLITE_LOCKED || code == SQLITE_IOERR)
                  ? base::errc::temporary
                  : (code == SQLITE_CORRUPT || code == SQLITE_NOTADB ? base::errc::corrupt
                                                                     : base::errc::io_error);
  return base::error{kind, fmt::format("{} failed in {}: {}", what, path_, msg), msg};
}

base::status database::exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    auto e = error_of(fmt::format("SQL '{}'", sql.substr(0, 40)));
    sqlite3_free(err);
    return e;
  }
  return base::ok_status();
}

base::result<statement> database::prepare(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end() && !it->second->busy) {
    it->second->busy = true;
    return statement(it->second->stmt, db_, it->second.get());
  }
  bool keep = it == cache_.end() && cache_.size() < max_cached;
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                         keep ? SQLITE_PREPARE_PERSISTENT : 0, &s, nullptr) != SQLITE_OK)
    return error_of(fmt::format("preparing '{}'", sql.substr(0, 40)));
  if (!keep) return statement(s, db_);
  auto& entry = cache_[std::string(sql)];
  entry = std::make_unique<detail::cached_statement>(detail::cached_statement{s, true});
  return statement(s, db_, entry.get());
}

base::status database::set_sync(sync_mode m) {
  if (m == sync_) return base::ok_status();
  // From the statement cache: STORE and APPEND alternate the mode all the time.
  auto st = prepare(m == sync_mode::full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  if (!st) return st.err();
  if (st->step() == step_result::error) return error_of("setting PRAGMA synchronous");
  sync_ = m;
  return base::ok_status();
}

base::status database::sync_wal() {
  auto wal = path_ + "-wal";
  int fd = ::open(wal.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    // No WAL: every commit has been checkpointed into the (synced) database.
    if (errno == ENOENT) return base::ok_status();
    return base::error{base::errc::io_error,
                       fmt::format("cannot open {}: {}", wal, std::strerror(errno)), ""};
  }
  int rc = ::fdatasync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0)
    return base::error{base::errc::io_error,
                       fmt::format("cannot sync {}: {}", wal, std::strerror(err)), ""};
  return base::ok_status();
}

int64_t database::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
int database::changes() const { return sqlite3_changes(db_); }
std::string database::message() const { return sqlite3_errmsg(db_); }

statement::~statement() {
  if (!stmt_) return;
  if (cached_) {
    // Ends any read it holds open (an unfinished SELECT keeps its snapshot).
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    cached_->busy = false;
  } else {
    sqlite3_finalize(stmt_);
  }
}

statement& statement::bind(int index, int64_t v) {
  sqlite3_bind_int64(stmt_, index, v);
  return *this;
}

statement& statement::bind(int index, std::string_view v) {
  sqlite3_bind_text(stmt_, index, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}

statement& statement::bind_blob(int index, std::string_view v) {
  sqlite3_bind_blob64(stmt_, index, v.data(), v.size(), SQLITE_TRANSIENT);
  return *this;
}

statement& statement::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

step_result statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return step_result::row;
  if (rc == SQLITE_DONE) return step_result::done;
  return step_result::error;
}

void statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t statement::int64(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string statement::text(int col) const {
  auto p = sqlite3_column_text(stmt_, col);
  auto n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}

std::string_view statement::bytes(int col) const {
  auto p = sqlite3_column_blob(stmt_, col);
  auto n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string_view(static_cast<const char*>(p), static_cast<size_t>(n))
           : std::string_view();
}

bool statement::is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

namespace {
base::status run_cached(database& db, std::string_view sql) {
  auto st = db.prepare(sql);
  if (!st) return st.err();
  if (st->step() == step_result::error) return db.error_of(fmt::format("SQL '{}'", sql));
  return base::ok_status();
}
}  // namespace

transaction::~transaction() {
  if (open_) run_cached(db_, "ROLLBACK");
}

base::status transaction::begin() {
  if (auto s = db_.set_sync(sync_); !s) return s;
  auto s = run_cached(db_, "BEGIN IMMEDIATE");
  open_ = s.ok();
  return s;
}

base::status transaction::commit() {
  auto s = run_cached(db_, "COMMIT");
  if (s) open_ = false;
  return s;
}

}  // namespace postern::db
