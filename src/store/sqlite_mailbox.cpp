#include "store/sqlite_mailbox.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/openat2.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "base/files.hpp"
#include "base/strings.hpp"
#include "mime/imap_structure.hpp"
#include "mime/message_structure.hpp"
#include "mime/search_document.hpp"
#include "mime/sort_record.hpp"
#include "store/blob_file.hpp"
#include "store/canonical.hpp"
#include "store/folder_view.hpp"

namespace postern::store {

namespace {
// PRAGMA user_version of an index this code writes; bump on any schema change.
// 2: counters (the last UIDVALIDITY handed out, so it is never reused).
// 3: special-use, subscriptions and keyword lists of folders, save dates,
//    the default folders, indexes for shared blobs and modseq scans.
// 4: the first UID no session has seen as \Recent yet (IMAP4rev1).
// 5: each message's IMAP ENVELOPE, rendered once at delivery.
// 6: its BODYSTRUCTURE, BODY and top-level header, kept at delivery too.
// 7: small messages received in memory kept in the index (inline_blobs).
// 8: the full-text index's queue (fts_queue), PREVIEW text and sort keys.
constexpr int64_t schema_version = 8;

constexpr const char* schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS folders(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  uidvalidity INTEGER NOT NULL,
  uidnext INTEGER NOT NULL,
  highestmodseq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS messages(
  id INTEGER PRIMARY KEY,
  folder_id INTEGER NOT NULL REFERENCES folders(id),
  uid INTEGER NOT NULL,
  blob INTEGER NOT NULL,
  size INTEGER NOT NULL,
  internal_date INTEGER NOT NULL,
  flags INTEGER NOT NULL,
  keywords TEXT NOT NULL DEFAULT '',
  modseq INTEGER NOT NULL,
  header_size INTEGER NOT NULL,
  dot_lines INTEGER NOT NULL,
  subject TEXT NOT NULL, from_addr TEXT NOT NULL, to_addr TEXT NOT NULL,
  cc_addr TEXT NOT NULL, date_header TEXT NOT NULL, message_id TEXT NOT NULL,
  structure TEXT NOT NULL,
  UNIQUE(folder_id, uid));
CREATE TABLE IF NOT EXISTS expunged(
  folder_id INTEGER NOT NULL, uid INTEGER NOT NULL, modseq INTEGER NOT NULL,
  PRIMARY KEY(folder_id, uid)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
)sql";

constexpr const char* migrate_3_sql = R"sql(
ALTER TABLE folders ADD COLUMN special_use TEXT NOT NULL DEFAULT '';
ALTER TABLE folders ADD COLUMN subscribed INTEGER NOT NULL DEFAULT 1;
ALTER TABLE folders ADD COLUMN keywords TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN save_date INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS messages_blob ON messages(blob);
CREATE INDEX IF NOT EXISTS messages_modseq ON messages(folder_id, modseq);
CREATE INDEX IF NOT EXISTS expunged_modseq ON expunged(folder_id, modseq);
)sql";

// Subscriptions are names, not folders: one may outlive its folder
// (RFC 9051 §6.3.7), and a new folder is not subscribed.
constexpr const char* migrate_4_sql = R"sql(
ALTER TABLE folders ADD COLUMN recent_uid INTEGER NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS subscriptions(name TEXT PRIMARY KEY) WITHOUT ROWID;
INSERT OR IGNORE INTO subscriptions(name) SELECT name FROM folders WHERE subscribed = 1;
)sql";

// FETCH ENVELOPE of a whole folder reads this text instead of deserializing
// each structure and rendering it again (Dovecot keeps it in its cache file).
// Rows from format 4 have NULL here and are rendered from their structure.
// A change to what mime::imap_envelope() writes needs a new format that
// clears this column, or old rows keep the old rendering.
constexpr const char* migrate_5_sql = "ALTER TABLE messages ADD COLUMN envelope TEXT;";

// FETCH BODYSTRUCTURE, BODY and header sections (HEADER, HEADER.FIELDS: what
// clients fetch for every message of a folder they open) read these instead
// of deserializing the structure and opening the message's file. Rows from
// format 5 have NULL here and are answered from the structure and the blob;
// the same rule as for `envelope` holds when the rendering changes.
constexpr const char* migrate_6_sql = R"sql(
ALTER TABLE messages ADD COLUMN bodystructure TEXT;
ALTER TABLE messages ADD COLUMN body TEXT;
ALTER TABLE messages ADD COLUMN header BLOB;
)sql";

// The bytes of inline blobs (blob_file.hpp): ids never reused (AUTOINCREMENT),
// so a session holding the id of an expunged message can never read another
// message under it. A row goes in the transaction that drops the last
// message referring to it.
constexpr const char* migrate_7_sql = R"sql(
CREATE TABLE IF NOT EXISTS inline_blobs(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  bytes BLOB NOT NULL);
)sql";

// Messages whose file the full-text index (fts.sqlite, fts_index.hpp) has not
// taken in yet: a row goes in with the message, in its transaction, and out
// once the index committed it; an upgraded index queues every message it has.
// `preview` (RFC 8970) and `sort_keys` (RFC 5256) are kept at delivery; NULL
// in older rows, which are answered from their header.
constexpr const char* migrate_8_sql = R"sql(
CREATE TABLE IF NOT EXISTS fts_queue(blob INTEGER PRIMARY KEY);
INSERT OR IGNORE INTO fts_queue(blob) SELECT blob FROM messages;
)sql";
constexpr const char* format_8_columns[] = {"preview", "sort_keys"};

// What a new user finds (RFC 6154 special-use attributes).
constexpr std::pair<const char*, const char*> default_folders[] = {
    {"INBOX", ""},        {"Drafts", "\\Drafts"}, {"Sent", "\\Sent"},
    {"Trash", "\\Trash"}, {"Junk", "\\Junk"},     {"Archive", "\\Archive"}};

// RFC 9051 §2.3.1.1: UIDs are 32-bit and must never wrap.
constexpr int64_t max_uid = 0xFFFFFFFFll;
}  // namespace

sqlite_mailbox::sqlite_mailbox(int64_t user_id, std::string root, db::database db, int blobs_fd)
    : user_id_(user_id),
      root_(std::move(root)),
      blobs_dir_(root_ + "/blobs"),
      blobs_fd_(blobs_fd),
      db_(std::move(db)) {}

sqlite_mailbox::~sqlite_mailbox() {
  flush_unlinks();
  // \Recent claims made while sessions ran (folder_view::recent_uid) are
  // saved, so the next session does not see those messages as recent again.
  for (auto& [id, v] : views_) {
    if (v->deleted) continue;
    auto st = db_.prepare(
        "UPDATE folders SET recent_uid = max(recent_uid, ?) WHERE id = ? AND uidvalidity = ?");
    if (!st) break;
    st->bind(1, static_cast<int64_t>(v->recent_uid.load()))
        .bind(2, id)
        .bind(3, static_cast<int64_t>(v->uidvalidity));
    st->step();  // best effort: \Recent is advisory
  }
  if (blobs_fd_ >= 0) ::close(blobs_fd_);
}

base::result<std::shared_ptr<sqlite_mailbox>> sqlite_mailbox::open(int64_t user_id,
                                                                   std::string root) {
  if (auto s = base::make_directories(root + "/blobs"); !s) return s.err();
  int fd = ::open((root + "/blobs").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return base::error{base::errc::io_error,
                       fmt::format("cannot open {}/blobs: {}", root, std::strerror(errno)), ""};
  auto db = db::database::open(root + "/index.sqlite", true);
  if (!db) {
    ::close(fd);
    return db.err();
  }
  std::shared_ptr<sqlite_mailbox> mb(new sqlite_mailbox(user_id, root, std::move(*db), fd));
  if (auto s = mb->create_schema(); !s) return s.err();
  // The baseline for poll_external_changes: any commit by another process
  // from now on is noticed, even one before the first poll.
  if (auto v = mb->db_.prepare("PRAGMA data_version"); v && v->step() == db::step_result::row)
    mb->data_version_ = static_cast<uint64_t>(v->int64(0));
  return mb;
}

base::status sqlite_mailbox::create_schema() {
  std::lock_guard lock(db_mu_);
  // Many mailboxes stay open at once: keep each one's page cache small.
  if (auto s = db_.exec("PRAGMA cache_size=-512"); !s) return s;
  // Opening an existing mailbox only reads: concurrent `postern deliver`
  // processes and the node must never contend for a write lock just to open
  // it. Each statement is finished before the next, so no read lock is held
  // into a write (which SQLite answers with SQLITE_BUSY at once).
  auto read_state = [&](int64_t& version, int64_t& tables) -> base::status {
    auto v = db_.prepare("PRAGMA user_version");
    if (!v) return v.err();
    version = v->step() == db::step_result::row ? v->int64(0) : -1;
    auto t = db_.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table'");
    if (!t) return t.err();
    tables = t->step() == db::step_result::row ? t->int64(0) : -1;
    return base::ok_status();
  };
  int64_t v = -1, n = -1;
  if (auto s = read_state(v, n); !s) return s;
  if (v == schema_version) return base::ok_status();
  auto upgradable = [&] { return (v == 0 && n == 0) || (v >= 1 && v < schema_version); };
  if (upgradable()) {
    // New, or an older format: create or upgrade under a write lock, then
    // look again, since another process may have won the race.
    db::transaction txn(db_);
    if (auto s = txn.begin(); !s) return s;
    if (auto s = read_state(v, n); !s) return s;
    if (v == schema_version) return base::ok_status();
    if (upgradable()) {
      if (auto s = db_.exec(schema_sql); !s) return s;
      if (v < 3)
        if (auto s = migrate_to_3(); !s) return s;
      if (v < 4)
        if (auto s = db_.exec(migrate_4_sql); !s) return s;
      if (v < 5)
        if (auto s = db_.exec(migrate_5_sql); !s) return s;
      if (v < 6)
        if (auto s = db_.exec(migrate_6_sql); !s) return s;
      if (v < 7)
        if (auto s = db_.exec(migrate_7_sql); !s) return s;
      if (auto s = migrate_to_8(); !s) return s;
      if (auto s = db_.exec(fmt::format("PRAGMA user_version = {}", schema_version)); !s) return s;
      return txn.commit();
    }
  }
  return base::error{base::errc::corrupt,
                     fmt::format("{} has index format {}; this Postern reads format {}", db_.path(),
                                 v, schema_version),
                     ""};
}

base::status sqlite_mailbox::migrate_to_8() {
  if (auto s = db_.exec(migrate_8_sql); !s) return s;
  // Columns added only where missing: an index that was once format 8 and
  // had its user_version lowered (a downgrade's tools) keeps them.
  std::vector<std::string> have;
  {
    auto info = db_.prepare("PRAGMA table_info(messages)");
    if (!info) return info.err();
    while (info->step() == db::step_result::row) have.push_back(info->text(1));
  }
  for (auto col : format_8_columns) {
    if (std::find(have.begin(), have.end(), col) != have.end()) continue;
    if (auto s = db_.exec(fmt::format("ALTER TABLE messages ADD COLUMN {} TEXT", col)); !s)
      return s;
  }
  return base::ok_status();
}

base::status sqlite_mailbox::migrate_to_3() {
  if (auto s = db_.exec(migrate_3_sql); !s) return s;
  for (auto [name, use] : default_folders) {
    auto f = find_folder(name, false);
    if (f) continue;
    if (f.err().code != base::errc::not_found) return f.err();
    if (auto s = create_folder_row(name, use); !s) return s;
  }
  return base::ok_status();
}

base::status sqlite_mailbox::create_folder_row(std::string_view name,
                                               std::string_view special_use) {
  auto validity = next_uidvalidity();
  if (!validity) return validity.err();
  auto ins = db_.prepare(
      "INSERT INTO folders(name, uidvalidity, uidnext, highestmodseq, special_use, subscribed)"
      " VALUES(?, ?, 1, 1, ?, 1)");
  if (!ins) return ins.err();
  ins->bind(1, name).bind(2, static_cast<int64_t>(*validity)).bind(3, special_use);
  if (ins->step() != db::step_result::done) return db_.error_of("creating folder");
  // Before the commit, under db_mu_ (a rollback only costs the next LIST a read).
  forget_listing();
  return base::ok_status();
}

base::result<uint32_t> sqlite_mailbox::next_uidvalidity() {
  // Unique per mailbox forever: at least the clock, and always above every
  // value handed out before, so a folder deleted and re-created in the same
  // second gets a new one (RFC 9051 §2.3.1.1).
  auto last = db_.prepare("SELECT value FROM counters WHERE name = 'uidvalidity'");
  if (!last) return last.err();
  int64_t prev = last->step() == db::step_result::row ? last->int64(0) : 0;
  int64_t now = static_cast<int64_t>(static_cast<uint32_t>(::time(nullptr)));
  int64_t next = std::max(now, prev + 1);
  if (next > max_uid) next = prev + 1 > max_uid ? 1 : prev + 1;
  auto put = db_.prepare("INSERT OR REPLACE INTO counters(name, value) VALUES('uidvalidity', ?)");
  if (!put) return put.err();
  put->bind(1, next);
  if (put->step() != db::step_result::done) return db_.error_of("recording UIDVALIDITY");
  return static_cast<uint32_t>(next);
}

base::result<folder_info> sqlite_mailbox::find_folder(std::string_view name, bool create_inbox,
                                                      bool count_messages) {
  // Counting reads the folder's whole index range: only callers that report
  // the count pay for it, not every SELECT and every delivery's commit.
  auto st =
      db_.prepare(count_messages ? "SELECT id, uidvalidity, uidnext, highestmodseq,"
                                   " (SELECT count(*) FROM messages WHERE folder_id = folders.id)"
                                   " FROM folders WHERE name = ?"
                                 : "SELECT id, uidvalidity, uidnext, highestmodseq, 0"
                                   " FROM folders WHERE name = ?");
  if (!st) return st.err();
  st->bind(1, name);
  auto r = st->step();
  if (r == db::step_result::row) {
    folder_info f;
    f.id = st->int64(0);
    f.name = std::string(name);
    f.uidvalidity = static_cast<uint32_t>(st->int64(1));
    f.uidnext = static_cast<uint64_t>(st->int64(2));
    f.highestmodseq = static_cast<uint64_t>(st->int64(3));
    f.messages = static_cast<uint32_t>(st->int64(4));
    return f;
  }
  if (r == db::step_result::error) return db_.error_of("reading folder");
  if (!create_inbox || name != "INBOX")
    return base::error{base::errc::not_found, fmt::format("folder {} does not exist", name), ""};
  if (auto s = create_folder_row(name, ""); !s) return s.err();
  return find_folder(name, false, count_messages);
}

void sqlite_mailbox::pending_append::parse(std::string_view bytes,
                                           const mime::progress_fn* progress) {
  structure = progress ? mime::parse(bytes, *progress) : mime::parse(bytes);
  if (structure.header_size <= max_cached_header && structure.header_size <= bytes.size())
    header = std::string(bytes.substr(0, structure.header_size));
  sort_keys = mime::serialize(mime::make_sort_record(
      structure, bytes.substr(0, std::min<uint64_t>(structure.header_size, bytes.size()))));
  preview = mime::preview_of(bytes, structure);
}

const char* const sqlite_mailbox::pending_append::insert_sql =
    "INSERT INTO messages(folder_id, uid, blob, size, internal_date, flags, modseq,"
    " header_size, dot_lines, subject, from_addr, to_addr, cc_addr, date_header, message_id,"
    " structure, keywords, save_date, envelope, bodystructure, body, header, sort_keys, preview)"
    " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";

void sqlite_mailbox::pending_append::bind_row(db::statement& ins, int64_t folder_id, uint32_t uid,
                                              uint64_t modseq, int64_t save_date) const {
  const auto& s = structure;
  ins.bind(1, folder_id)
      .bind(2, static_cast<int64_t>(uid))
      .bind(3, static_cast<int64_t>(blob))
      .bind(4, static_cast<int64_t>(size))
      .bind(5, internal_date)
      .bind(6, static_cast<int64_t>(flags))
      .bind(7, static_cast<int64_t>(modseq))
      .bind(8, static_cast<int64_t>(s.header_size))
      .bind(9, static_cast<int64_t>(dot_lines))
      .bind(10, s.subject)
      .bind(11, s.from)
      .bind(12, s.to)
      .bind(13, s.cc)
      .bind(14, s.date)
      .bind(15, s.message_id)
      .bind(16, mime::serialize(s))
      .bind(17, base::join(keywords, " "))
      .bind(18, save_date)
      .bind(19, envelope)
      .bind(20, bodystructure)
      .bind(21, body);
  if (header)
    ins.bind(22, *header);
  else
    ins.bind_null(22);
  ins.bind(23, sort_keys).bind(24, preview);
}

void sqlite_mailbox::pending_append::render() {
  envelope = mime::imap_envelope(structure);
  bodystructure = mime::imap_bodystructure(structure, true);
  body = mime::imap_bodystructure(structure, false);
}

base::result<uint32_t> sqlite_mailbox::append(std::string_view folder, const new_message& msg) {
  // Parsing and the blob write happen outside any lock, in parallel with
  // other deliveries; only the commit is serialised.
  auto converted = canonicalize(msg.bytes);
  std::string_view bytes = converted ? std::string_view(*converted) : msg.bytes;

  pending_append p;
  p.folder = std::string(folder);
  p.size = bytes.size();
  p.internal_date = msg.internal_date ? msg.internal_date : static_cast<int64_t>(::time(nullptr));
  p.flags = msg.flags;
  p.dot_lines = count_dot_lines(bytes);
  p.parse(bytes);
  auto blob = create_blob(blobs_fd_, blobs_dir_, bytes);
  if (!blob) return blob.err();
  p.blob = *blob;
  return commit(p);
}

namespace {
// A read-only mapping of a spool file, for the one MIME pass.
struct mapping {
  void* data = MAP_FAILED;
  size_t size = 0;
  ~mapping() {
    if (data != MAP_FAILED) {
      // Drop the pages now rather than leave them counted against the node.
      ::madvise(data, size, MADV_DONTNEED);
      ::munmap(data, size);
    }
  }
};
}  // namespace

base::result<uint32_t> sqlite_mailbox::append_file(std::string_view folder,
                                                   const spooled_message& msg) {
  pending_append p;
  p.folder = std::string(folder);
  p.size = msg.size;
  p.internal_date = msg.internal_date ? msg.internal_date : static_cast<int64_t>(::time(nullptr));
  p.flags = msg.flags;
  p.dot_lines = msg.dot_lines;
  if (msg.size > 0) {
    mapping m;
    m.size = static_cast<size_t>(msg.size);
    m.data = ::mmap(nullptr, m.size, PROT_READ, MAP_PRIVATE, msg.file->fd, 0);
    if (m.data == MAP_FAILED)
      return base::error{
          base::errc::io_error,
          fmt::format("cannot map spool file {}: {}", msg.file->path, std::strerror(errno)),
          std::strerror(errno)};
    ::madvise(m.data, m.size, MADV_SEQUENTIAL);
    // Pages the parser has passed are dropped from this process (they stay in
    // the page cache), so resident memory stays a window, not the message.
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    size_t dropped = 0;
    auto release = [&](size_t pos) {
      constexpr size_t keep_behind = 64 * 1024;
      if (pos == 0) dropped = 0;
      if (pos < keep_behind) return;
      size_t upto = (pos - keep_behind) / page * page;
      if (upto <= dropped) return;
      ::madvise(static_cast<char*>(m.data) + dropped, upto - dropped, MADV_DONTNEED);
      dropped = upto;
    };
    const mime::progress_fn progress = release;
    p.parse(std::string_view(static_cast<const char*>(m.data), m.size), &progress);
  } else {
    p.parse({});
  }
  auto blob =
      link_blob(blobs_fd_, blobs_dir_, msg.file->fd, msg.file->link_source(), msg.file->path);
  if (!blob) return blob.err();
  p.blob = *blob;
  return commit(p);
}

base::result<uint32_t> sqlite_mailbox::commit(pending_append& p) {
  // Rendered here, in the appender's own thread: the commit below holds the
  // store's lock for every delivery in its batch.
  p.render();
  {
    std::unique_lock lock(queue_mu_);
    queue_.push_back(&p);
    while (!p.done) {
      if (committing_) {
        queue_cv_.wait(lock);
        continue;
      }
      committing_ = true;
      auto batch = std::move(queue_);
      queue_.clear();
      lock.unlock();
      commit_batch(batch);
      lock.lock();
      for (auto* b : batch) b->done = true;
      committing_ = false;
      queue_cv_.notify_all();
    }
  }
  if (!p.outcome->ok()) {
    if (!p.keep_inline) ::unlinkat(blobs_fd_, blob_name(p.blob).c_str(), 0);
  } else {
    refresh_views({p.folder_id});
    notifier_.notify();
    announce_queued();
  }
  return std::move(*p.outcome);
}

void sqlite_mailbox::poll_external_changes() {
  flush_unlinks();
  bool viewed;
  {
    std::lock_guard vlock(views_mu_);
    viewed = !views_.empty();
  }
  bool listed;
  {
    std::lock_guard kept(listing_mu_);
    listed = listing_.has_value();
  }
  // Only mailboxes someone watches (IDLE), has open in IMAP or listed need polling.
  if (!notifier_.has_subscribers() && !viewed && !listed) return;
  uint64_t v = 0;
  {
    std::lock_guard lock(db_mu_);
    // data_version changes only when another connection (another process)
    // committed; this node's own commits notify directly.
    auto st = db_.prepare("PRAGMA data_version");
    if (!st || st->step() != db::step_result::row) return;
    v = static_cast<uint64_t>(st->int64(0));
  }
  bool changed = data_version_.exchange(v) != v;
  if (changed) {
    forget_listing();
    refresh_views();
    notifier_.notify();
    announce_queued();  // postern deliver may have queued messages for the index
  }
}

namespace {
std::function<void(std::chrono::microseconds)>& commit_listener() {
  static std::function<void(std::chrono::microseconds)> listener;
  return listener;
}
}  // namespace

void set_commit_listener(std::function<void(std::chrono::microseconds)> listener) {
  commit_listener() = std::move(listener);
}

void sqlite_mailbox::commit_batch(std::vector<pending_append*>& batch) {
  auto started = std::chrono::steady_clock::now();
  auto fail_all = [&](const base::error& e) {
    for (auto* p : batch) p->outcome = e;
  };
  // One fsync makes every blob name in this batch durable (inline ones are
  // written by the commit itself).
  bool files = std::any_of(batch.begin(), batch.end(), [](auto* p) { return !p->keep_inline; });
  if (files)
    if (auto s = sync_directory(blobs_fd_, blobs_dir_); !s) return fail_all(s.err());

  std::lock_guard lock(db_mu_);
  db::transaction txn(db_);
  if (auto s = txn.begin(); !s) return fail_all(s.err());
  auto ins = db_.prepare(pending_append::insert_sql);
  auto upd = db_.prepare("UPDATE folders SET uidnext = ?, highestmodseq = ? WHERE id = ?");
  if (!ins) return fail_all(ins.err());
  if (!upd) return fail_all(upd.err());
  std::vector<std::optional<base::result<uint32_t>>> outcomes(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    auto* p = batch[i];
    // Read inside the transaction: another process may have appended since.
    auto f = find_folder(p->folder, true);
    if (!f) return fail_all(f.err());
    if (f->uidnext > static_cast<uint64_t>(max_uid)) {
      outcomes[i] = base::error{
          base::errc::limit_exceeded,
          fmt::format("folder {} has used every UID up to 4294967295 (RFC 9051 §2.3.1.1); it "
                      "must be re-created with a new UIDVALIDITY before it can take more mail",
                      p->folder),
          ""};
      continue;
    }
    uint32_t uid = static_cast<uint32_t>(f->uidnext);
    uint64_t modseq = f->highestmodseq + 1;
    p->folder_id = f->id;
    if (auto s = store_inline(*p); !s) return fail_all(s.err());
    ins->reset();
    p->bind_row(*ins, f->id, uid, modseq, static_cast<int64_t>(::time(nullptr)));
    if (!p->keywords.empty()) {
      auto kw = folder_keywords(f->id, p->keywords);
      if (!kw) {
        outcomes[i] = kw.err();
        continue;
      }
    }
    if (ins->step() != db::step_result::done) return fail_all(db_.error_of("storing message"));
    if (auto s = queue_for_index(p->blob); !s) return fail_all(s.err());
    upd->reset();
    upd->bind(1, static_cast<int64_t>(uid) + 1)
        .bind(2, static_cast<int64_t>(modseq))
        .bind(3, f->id);
    if (upd->step() != db::step_result::done) return fail_all(db_.error_of("advancing UIDNEXT"));
    outcomes[i] = uid;
  }
  if (auto s = txn.commit(); !s) return fail_all(s.err());
  if (auto& listener = commit_listener())
    listener(std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started));
  unlink_synced();  // this full commit synced the WAL, deferred expunges with it
  for (size_t i = 0; i < batch.size(); ++i) batch[i]->outcome = std::move(outcomes[i]);
}

base::result<folder_info> sqlite_mailbox::folder(std::string_view name) {
  std::lock_guard lock(db_mu_);
  auto f = find_folder(name, false, true);
  if (!f && f.err().code == base::errc::not_found && name == "INBOX") {
    // An INBOX that never received mail exists all the same.
    db::transaction txn(db_);
    if (auto s = txn.begin(); !s) return s.err();
    auto created = find_folder(name, true, true);
    if (!created) return created.err();
    if (auto s = txn.commit(); !s) return s.err();
    return created;
  }
  return f;
}

base::result<std::vector<message_meta>> sqlite_mailbox::list(std::string_view folder_name) {
  std::lock_guard lock(db_mu_);
  auto f = find_folder(folder_name, false, true);
  if (!f) {
    if (f.err().code == base::errc::not_found && folder_name == "INBOX")
      return std::vector<message_meta>{};
    return f.err();
  }
  auto st = db_.prepare(
      "SELECT uid, size, internal_date, flags, modseq, header_size, dot_lines, blob, save_date"
      " FROM messages WHERE folder_id = ? ORDER BY uid");
  if (!st) return st.err();
  st->bind(1, f->id);
  std::vector<message_meta> out;
  out.reserve(f->messages);
  db::step_result r;
  while ((r = st->step()) == db::step_result::row) {
    message_meta m;
    m.uid = static_cast<uint32_t>(st->int64(0));
    m.size = static_cast<uint64_t>(st->int64(1));
    m.internal_date = st->int64(2);
    m.flags = static_cast<uint32_t>(st->int64(3));
    m.modseq = static_cast<uint64_t>(st->int64(4));
    m.header_size = static_cast<uint64_t>(st->int64(5));
    m.dot_lines = static_cast<uint32_t>(st->int64(6));
    m.blob_id = static_cast<uint64_t>(st->int64(7));
    m.save_date = st->int64(8);
    out.push_back(std::move(m));
  }
  if (r == db::step_result::error) return db_.error_of("listing messages");
  return out;
}

base::result<size_t> sqlite_mailbox::expunge(std::string_view folder_name,
                                             std::span<const uint32_t> uids) {
  std::vector<uint64_t> blobs;
  std::vector<uint32_t> removed_uids;
  int64_t folder_id = 0;
  uint64_t before = 0, modseq = 0;
  {
    std::lock_guard lock(db_mu_);
    // Deferred like flag changes; the blobs wait for the sync (remove_unreferenced).
    db::transaction txn(db_, db::sync_mode::deferred);
    if (auto s = txn.begin(); !s) return s.err();
    auto f = find_folder(folder_name, false);
    if (!f) return f.err();
    folder_id = f->id;
    forget_sort_keys(folder_id);
    auto sel = db_.prepare("SELECT blob FROM messages WHERE folder_id = ? AND uid = ?");
    auto del = db_.prepare("DELETE FROM messages WHERE folder_id = ? AND uid = ?");
    auto tomb =
        db_.prepare("INSERT OR REPLACE INTO expunged(folder_id, uid, modseq) VALUES(?,?,?)");
    if (!sel) return sel.err();
    if (!del) return del.err();
    if (!tomb) return tomb.err();
    before = f->highestmodseq;
    modseq = before + 1;
    for (auto uid : uids) {
      sel->reset();
      sel->bind(1, f->id).bind(2, static_cast<int64_t>(uid));
      auto r = sel->step();
      if (r == db::step_result::error) return db_.error_of("finding message");
      if (r != db::step_result::row) continue;  // already removed by another session
      blobs.push_back(static_cast<uint64_t>(sel->int64(0)));
      removed_uids.push_back(uid);
      del->reset();
      del->bind(1, f->id).bind(2, static_cast<int64_t>(uid));
      if (del->step() != db::step_result::done) return db_.error_of("deleting message");
      tomb->reset();
      tomb->bind(1, f->id).bind(2, static_cast<int64_t>(uid)).bind(3, static_cast<int64_t>(modseq));
      if (tomb->step() != db::step_result::done) return db_.error_of("recording expunge");
    }
    if (auto s = drop_unreferenced_inline(blobs); !s) return s.err();
    if (!blobs.empty()) {
      auto upd = db_.prepare("UPDATE folders SET highestmodseq = ? WHERE id = ?");
      if (!upd) return upd.err();
      upd->bind(1, static_cast<int64_t>(modseq)).bind(2, f->id);
      if (upd->step() != db::step_result::done) return db_.error_of("advancing HIGHESTMODSEQ");
    }
    if (auto s = txn.commit(); !s) return s.err();
  }
  // After the commit: a crash here leaves only unreferenced files, which
  // `postern mailbox repair` moves to lost+found/; it never leaves a row
  // without its file.
  size_t removed = blobs.size();
  remove_unreferenced(blobs, db::sync_mode::deferred);
  if (removed) {
    patch_view(folder_id, before, modseq, {}, removed_uids);
    notifier_.notify();
  }
  return removed;
}

std::optional<int> sqlite_mailbox::open_blob_cached(uint64_t blob_id) {
  // An inline blob is read from the index, which may wait for the disk; a
  // blob waiting to be unlinked is gone, as open_blob() says.
  if (kept_inline(blob_id) || unlink_pending(blob_id)) return std::nullopt;
  auto name = blob_name(blob_id);
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC;
  how.resolve = RESOLVE_CACHED;
  // Fails with EAGAIN instead of waiting for the disk; any failure sends the
  // caller to open_blob(), which says what went wrong.
  auto fd = ::syscall(SYS_openat2, blobs_fd_, name.c_str(), &how, sizeof how);
  if (fd < 0) return std::nullopt;
  return static_cast<int>(fd);
}

base::result<int> sqlite_mailbox::open_blob(uint64_t blob_id, uint32_t uid) {
  if (kept_inline(blob_id)) {
    // As a memory file, so every reader of a descriptor (SEARCH's mapping,
    // POP3's sendfile) reads it as it reads a file.
    auto bytes = read_kept_blob(blob_id, uid);
    if (!bytes) return bytes.err();
    return memory_file(*bytes, fmt::format("message UID {}", uid));
  }
  auto name = blob_name(blob_id);
  int fd = unlink_pending(blob_id) ? (errno = ENOENT, -1)
                                   : ::openat(blobs_fd_, name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) return fd;
  if (errno == ENOENT)
    return base::error{base::errc::not_found,
                       fmt::format("message UID {} was removed by another session", uid),
                       blobs_dir_ + "/" + name};
  return base::error{base::errc::io_error,
                     fmt::format("cannot open message UID {}: {}", uid, std::strerror(errno)),
                     blobs_dir_ + "/" + name};
}

}  // namespace postern::store
