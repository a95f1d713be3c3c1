#include "queue/queue_store.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>

#include "base/files.hpp"
#include "base/strings.hpp"

namespace postern::queue {

namespace {

constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS messages(
  id TEXT PRIMARY KEY,
  sender TEXT NOT NULL,
  user_id INTEGER NOT NULL,
  user TEXT NOT NULL,
  created INTEGER NOT NULL,
  size INTEGER NOT NULL,
  message_id TEXT NOT NULL,
  envid TEXT NOT NULL DEFAULT '',
  ret TEXT NOT NULL DEFAULT '',
  smtputf8 INTEGER NOT NULL DEFAULT 0,
  requiretls INTEGER NOT NULL DEFAULT 0,
  warned INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS recipients(
  id INTEGER PRIMARY KEY,
  message TEXT NOT NULL REFERENCES messages(id),
  address TEXT NOT NULL,
  domain TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'queued',
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt INTEGER NOT NULL DEFAULT 0,
  last_reply TEXT NOT NULL DEFAULT '',
  notify TEXT NOT NULL DEFAULT '',
  orcpt TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS recipients_due ON recipients(state, next_attempt);
CREATE INDEX IF NOT EXISTS recipients_message ON recipients(message);
)sql";

base::error io_error(std::string what, const std::string& path, int err) {
  return base::error{base::errc::io_error, fmt::format("{} {}: {}", what, path, std::strerror(err)),
                     ""};
}

std::string new_id(int64_t now) {
  unsigned char raw[5];
  RAND_bytes(raw, sizeof raw);
  std::string id = fmt::format("{:010x}", static_cast<uint64_t>(now));
  for (auto b : raw) id += fmt::format("{:02x}", b);
  return id;
}

// Writes all of `bytes` (or copies `size` bytes from `fd`) into `out`.
base::status write_all(int out, const message_source& src, const std::string& path) {
  auto put = [&](const char* p, size_t n) -> base::status {
    while (n) {
      auto w = ::write(out, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return io_error("cannot write", path, errno ? errno : EIO);
      p += w;
      n -= static_cast<size_t>(w);
    }
    return base::ok_status();
  };
  if (src.fd < 0) return put(src.memory.data(), src.memory.size());
  char buf[64 * 1024];
  uint64_t off = 0;
  while (off < src.size) {
    auto want = static_cast<size_t>(std::min<uint64_t>(sizeof buf, src.size - off));
    auto r = ::pread(src.fd, buf, want, static_cast<off_t>(off));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return io_error("cannot read the message to queue it for", path, r ? errno : EIO);
    if (auto s = put(buf, static_cast<size_t>(r)); !s) return s;
    off += static_cast<uint64_t>(r);
  }
  return base::ok_status();
}

queued_message message_of(db::statement& st) {
  queued_message m;
  m.id = st.text(0);
  m.sender = st.text(1);
  m.user_id = st.int64(2);
  m.user = st.text(3);
  m.created = st.int64(4);
  m.size = static_cast<uint64_t>(st.int64(5));
  m.message_id = st.text(6);
  m.envid = st.text(7);
  m.ret = st.text(8);
  m.smtputf8 = st.int64(9) != 0;
  m.requiretls = st.int64(10) != 0;
  m.warned = st.int64(11) != 0;
  return m;
}

constexpr const char* message_columns =
    "m.id, m.sender, m.user_id, m.user, m.created, m.size, m.message_id, m.envid, m.ret, "
    "m.smtputf8, m.requiretls, m.warned";

queued_recipient recipient_of(db::statement& st, int first) {
  queued_recipient r;
  r.id = st.int64(first);
  r.address = st.text(first + 1);
  r.domain = st.text(first + 2);
  r.state = st.text(first + 3);
  r.attempts = static_cast<uint32_t>(st.int64(first + 4));
  r.next_attempt = st.int64(first + 5);
  r.last_reply = st.text(first + 6);
  r.notify = st.text(first + 7);
  r.orcpt = st.text(first + 8);
  return r;
}

constexpr const char* recipient_columns =
    "r.id, r.address, r.domain, r.state, r.attempts, r.next_attempt, r.last_reply, r.notify, "
    "r.orcpt";

bool contains_folded(std::string_view hay, std::string_view needle) {
  return needle.empty() || base::to_lower(hay).find(base::to_lower(needle)) != std::string::npos;
}

}  // namespace

std::string domain_of(std::string_view address) {
  auto at = address.rfind('@');
  return at == std::string_view::npos ? "" : base::to_lower(address.substr(at + 1));
}

base::result<std::unique_ptr<queue_store>> queue_store::open(const std::string& data_dir) {
  auto dir = data_dir + "/queue";
  if (auto s = base::make_directories(dir + "/messages"); !s) return s.err();
  auto db = db::database::open(dir + "/queue.sqlite", true);
  if (!db) return db.err();
  if (auto s = db->exec(schema); !s) return s.err();
  return std::unique_ptr<queue_store>(new queue_store(std::move(*db), dir));
}

std::string queue_store::message_path(const std::string& id) const {
  return dir_ + "/messages/" + id + ".eml";
}

base::result<std::string> queue_store::enqueue(const new_message& m, const message_source& bytes,
                                               int64_t now) {
  auto id = new_id(now);
  auto path = message_path(id);
  auto tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot create", tmp, errno);
  auto written = write_all(fd, bytes, tmp);
  if (written && ::fdatasync(fd) != 0) written = io_error("cannot sync", tmp, errno);
  ::close(fd);
  if (written && ::rename(tmp.c_str(), path.c_str()) != 0)
    written = io_error("cannot rename into place", tmp, errno);
  if (written) {
    auto folder = dir_ + "/messages";
    int dfd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || ::fsync(dfd) != 0) written = io_error("cannot sync folder", folder, errno);
    if (dfd >= 0) ::close(dfd);
  }
  if (!written) {
    ::unlink(tmp.c_str());
    ::unlink(path.c_str());
    return written.err();
  }
  uint64_t size = bytes.fd < 0 ? bytes.memory.size() : bytes.size;
  std::lock_guard lock(mu_);
  db::transaction tx(db_);
  auto fail = [&](base::error e) -> base::result<std::string> {
    ::unlink(path.c_str());
    return e;
  };
  if (auto s = tx.begin(); !s) return fail(s.err());
  auto st = db_.prepare(
      "INSERT INTO messages(id, sender, user_id, user, created, size, message_id, envid, ret, "
      "smtputf8, requiretls) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!st) return fail(st.err());
  st->bind(1, id)
      .bind(2, m.sender)
      .bind(3, m.user_id)
      .bind(4, m.user)
      .bind(5, now)
      .bind(6, static_cast<int64_t>(size))
      .bind(7, m.message_id)
      .bind(8, m.envid)
      .bind(9, m.ret)
      .bind(10, m.smtputf8 ? 1 : 0)
      .bind(11, m.requiretls ? 1 : 0);
  if (st->step() != db::step_result::done) return fail(db_.error_of("queueing a message"));
  for (auto& r : m.recipients) {
    auto ins = db_.prepare(
        "INSERT INTO recipients(message, address, domain, notify, orcpt) VALUES(?, ?, ?, ?, ?)");
    if (!ins) return fail(ins.err());
    ins->bind(1, id)
        .bind(2, r.address)
        .bind(3, domain_of(r.address))
        .bind(4, r.notify)
        .bind(5, r.orcpt);
    if (ins->step() != db::step_result::done) return fail(db_.error_of("queueing a recipient"));
  }
  if (auto s = tx.commit(); !s) return fail(s.err());
  return id;
}

base::result<std::vector<queued_recipient>> queue_store::recipients_locked(const std::string& id,
                                                                           bool queued_only) {
  auto st =
      db_.prepare(fmt::format("SELECT {} FROM recipients r WHERE r.message = ?{} ORDER BY "
                              "r.id",
                              recipient_columns, queued_only ? " AND r.state = 'queued'" : ""));
  if (!st) return st.err();
  st->bind(1, id);
  std::vector<queued_recipient> out;
  while (st->step() == db::step_result::row) out.push_back(recipient_of(*st, 0));
  return out;
}

base::result<std::vector<queued_message>> queue_store::list(const queue_filter& f) {
  std::lock_guard lock(mu_);
  auto st = db_.prepare(fmt::format(
      "SELECT {} FROM messages m WHERE EXISTS (SELECT 1 FROM recipients r WHERE r.message = m.id "
      "AND r.state = 'queued') ORDER BY m.created, m.id",
      message_columns));
  if (!st) return st.err();
  std::vector<queued_message> out;
  while (st->step() == db::step_result::row) {
    auto m = message_of(*st);
    if (!contains_folded(m.sender, f.sender)) continue;
    out.push_back(std::move(m));
  }
  std::vector<queued_message> kept;
  for (auto& m : out) {
    auto rs = recipients_locked(m.id, false);
    if (!rs) return rs.err();
    m.recipients = std::move(*rs);
    bool match = f.recipient.empty();
    for (auto& r : m.recipients) match = match || contains_folded(r.address, f.recipient);
    if (match) kept.push_back(std::move(m));
  }
  return kept;
}

base::result<queued_message> queue_store::get(const std::string& id) {
  std::lock_guard lock(mu_);
  auto st = db_.prepare(fmt::format("SELECT {} FROM messages m WHERE m.id = ?", message_columns));
  if (!st) return st.err();
  st->bind(1, id);
  if (st->step() != db::step_result::row)
    return base::error{base::errc::not_found,
                       fmt::format("no message {} in the queue (postern queue list shows them)",
                                   base::printable(id, 40)),
                       ""};
  auto m = message_of(*st);
  auto rs = recipients_locked(m.id, false);
  if (!rs) return rs.err();
  m.recipients = std::move(*rs);
  return m;
}

base::result<std::vector<queued_message>> queue_store::due(int64_t now, size_t limit) {
  std::lock_guard lock(mu_);
  auto st = db_.prepare(fmt::format(
      "SELECT {}, {} FROM recipients r JOIN messages m ON m.id = r.message WHERE r.state = "
      "'queued' AND r.next_attempt <= ? ORDER BY m.created, m.id, r.domain, r.id",
      message_columns, recipient_columns));
  if (!st) return st.err();
  st->bind(1, now);
  std::vector<queued_message> out;
  std::map<std::pair<std::string, std::string>, size_t> index;
  while (st->step() == db::step_result::row) {
    auto r = recipient_of(*st, 12);
    auto key = std::pair{st->text(0), r.domain};
    auto it = index.find(key);
    if (it == index.end()) {
      if (out.size() >= limit) continue;
      it = index.emplace(key, out.size()).first;
      out.push_back(message_of(*st));
    }
    out[it->second].recipients.push_back(std::move(r));
  }
  return out;
}

base::status queue_store::record(int64_t recipient_id, const std::string& state,
                                 const std::string& reply, int64_t next_attempt) {
  std::lock_guard lock(mu_);
  // Not fsync'd: it survives kill -9 (the kernel has it); power loss may undo
  // it, and then the recipient is tried again, the duplicate SMTP allows, never
  // a loss.
  db::transaction tx(db_, db::sync_mode::deferred);
  if (auto s = tx.begin(); !s) return s;
  auto st = db_.prepare(
      "UPDATE recipients SET state = ?, last_reply = ?, next_attempt = ?, attempts = attempts + "
      "1 WHERE id = ?");
  if (!st) return st.err();
  st->bind(1, state).bind(2, reply).bind(3, next_attempt).bind(4, recipient_id);
  if (st->step() != db::step_result::done) return db_.error_of("recording a relay attempt");
  return tx.commit();
}

base::status queue_store::set_warned(const std::string& id) {
  std::lock_guard lock(mu_);
  auto st = db_.prepare("UPDATE messages SET warned = 1 WHERE id = ?");
  if (!st) return st.err();
  st->bind(1, id);
  if (st->step() != db::step_result::done) return db_.error_of("recording a delay warning");
  return base::ok_status();
}

base::result<uint64_t> queue_store::flush(const std::string& id) {
  if (!id.empty()) {
    if (auto m = get(id); !m) return m.err();
  }
  std::lock_guard lock(mu_);
  auto st =
      db_.prepare(id.empty() ? "UPDATE recipients SET next_attempt = 0 WHERE state = 'queued'"
                             : "UPDATE recipients SET next_attempt = 0 WHERE state = 'queued' AND "
                               "message = ?");
  if (!st) return st.err();
  if (!id.empty()) st->bind(1, id);
  if (st->step() != db::step_result::done) return db_.error_of("flushing the queue");
  return static_cast<uint64_t>(db_.changes());
}

base::result<uint64_t> queue_store::remove(const std::string& id) {
  if (auto m = get(id); !m) return m.err();
  std::lock_guard lock(mu_);
  auto st = db_.prepare(
      "UPDATE recipients SET state = 'deleted', last_reply = 'deleted by an administrator' WHERE "
      "state = 'queued' AND message = ?");
  if (!st) return st.err();
  st->bind(1, id);
  if (st->step() != db::step_result::done) return db_.error_of("deleting from the queue");
  return static_cast<uint64_t>(db_.changes());
}

base::result<uint64_t> queue_store::collect_finished() {
  std::vector<std::string> done;
  {
    std::lock_guard lock(mu_);
    auto st = db_.prepare(
        "SELECT id FROM messages m WHERE NOT EXISTS (SELECT 1 FROM recipients r WHERE r.message "
        "= m.id AND r.state = 'queued')");
    if (!st) return st.err();
    while (st->step() == db::step_result::row) done.push_back(st->text(0));
    if (done.empty()) return uint64_t{0};
    db::transaction tx(db_, db::sync_mode::deferred);
    if (auto s = tx.begin(); !s) return s.err();
    for (auto& id : done) {
      for (auto sql :
           {"DELETE FROM recipients WHERE message = ?", "DELETE FROM messages WHERE id = ?"}) {
        auto del = db_.prepare(sql);
        if (!del) return del.err();
        del->bind(1, id);
        if (del->step() != db::step_result::done) return db_.error_of("clearing the queue");
      }
    }
    if (auto s = tx.commit(); !s) return s.err();
  }
  // A crash before these unlinks leaves files without rows: recover() takes them.
  for (auto& id : done) ::unlink(message_path(id).c_str());
  return static_cast<uint64_t>(done.size());
}

base::result<uint64_t> queue_store::recover() {
  std::lock_guard lock(mu_);
  uint64_t removed = 0;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(dir_ + "/messages", ec)) {
    auto name = e.path().filename().string();
    bool partial = e.path().extension() == ".tmp";
    if (!partial) {
      if (e.path().extension() != ".eml") continue;
      auto st = db_.prepare("SELECT 1 FROM messages WHERE id = ?");
      if (!st) return st.err();
      st->bind(1, e.path().stem().string());
      if (st->step() == db::step_result::row) continue;
    }
    if (std::filesystem::remove(e.path(), ec)) ++removed;
  }
  if (ec) return io_error("cannot read", dir_ + "/messages", ec.value());
  return removed;
}

base::result<queue_stats> queue_store::stats() {
  std::lock_guard lock(mu_);
  auto st = db_.prepare(
      "SELECT COUNT(DISTINCT r.message), COUNT(*), COALESCE(MIN(m.created), 0) FROM recipients r "
      "JOIN messages m ON m.id = r.message WHERE r.state = 'queued'");
  if (!st) return st.err();
  if (st->step() != db::step_result::row) return db_.error_of("reading the queue's size");
  return queue_stats{static_cast<uint64_t>(st->int64(0)), static_cast<uint64_t>(st->int64(1)),
                     st->int64(2)};
}

}  // namespace postern::queue
