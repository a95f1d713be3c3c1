// `postern mailbox check|repair` (New-MailboxRepairRequest in Exchange): the
// index verified against its files and against itself.
//
// Safe while sessions use the mailbox: the index is read in batches under
// the writer's lock, files are read and parsed without it, and every repair
// is re-validated and applied in one transaction under the lock, then shown
// to the sessions through their views like any other change. Deliveries wait
// only for the short locked steps.
//
// Orphan files (a file no row names) come from a crash between an expunge's
// commit and its unlink, or between an append's link and its commit (never
// acknowledged); a damaged index could also have lost a row. Repair never
// deletes them: it moves them to lost+found/ in the mailbox folder, and
// `--restore` makes them messages of the folder Recovered.
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <unordered_set>

#include "base/files.hpp"
#include "mime/imap_structure.hpp"
#include "store/blob_file.hpp"
#include "store/canonical.hpp"
#include "store/folder_view.hpp"
#include "store/sqlite_mailbox.hpp"

namespace postern::store {

namespace {

// Rows read per locked step.
constexpr int64_t batch_rows = 500;
// A file younger than this may belong to an append still committing.
constexpr auto orphan_grace = std::chrono::minutes(10);
constexpr const char* recovered_folder = "Recovered";

struct folder_row {
  int64_t id = 0;
  std::string name;
  uint32_t uidvalidity = 0;
  int64_t uidnext = 0, highestmodseq = 0;
  int64_t max_uid = 0, max_modseq = 0, max_expunged_modseq = 0, zero_modseq = 0;
  int64_t max_expunged_uid = 0;  // an expunged UID is never given out again either
};

// What a message's file says its row should hold.
struct derived {
  uint64_t size = 0, header_size = 0;
  uint32_t dot_lines = 0;
  std::string structure, envelope, bodystructure, body;
  std::optional<std::string> header;
};

derived derive(std::string_view bytes) {
  derived d;
  auto s = mime::parse(bytes);
  d.size = bytes.size();
  d.header_size = s.header_size;
  d.dot_lines = count_dot_lines(bytes);
  d.structure = mime::serialize(s);
  d.envelope = mime::imap_envelope(s);
  d.bodystructure = mime::imap_bodystructure(s, true);
  d.body = mime::imap_bodystructure(s, false);
  if (s.header_size <= max_cached_header && s.header_size <= bytes.size())
    d.header = std::string(bytes.substr(0, s.header_size));
  return d;
}

bool is_blob_name(std::string_view name) {
  if (name.size() != 16) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

struct message_fix {
  int64_t row_id = 0;
  int64_t folder_id = 0;
  uint32_t uid = 0;
  uint64_t blob = 0;
  bool missing = false;  // else: rewrite the row from `d`
  derived d;
};

}  // namespace

base::result<check_report> sqlite_mailbox::check(check_mode mode) {
  const bool repair = mode != check_mode::check;
  check_report rep;
  auto add = [&](std::string kind, std::string folder, uint32_t uid, std::string detail) {
    rep.findings.push_back({std::move(kind), std::move(folder), uid, std::move(detail), ""});
    return rep.findings.size() - 1;
  };
  const std::string index_path = root_ + "/index.sqlite";

  // 1. SQLite's own consistency check: a damaged b-tree makes every other
  // finding unreliable. Index-only damage is rebuilt by REINDEX.
  {
    std::lock_guard lock(db_mu_);
    auto integrity = [&]() -> std::string {
      auto st = db_.prepare("PRAGMA integrity_check(20)");
      if (!st) return st.err().message;
      std::string problems;
      while (st->step() == db::step_result::row) {
        auto line = st->text(0);
        if (line != "ok") problems += (problems.empty() ? "" : "; ") + line;
      }
      return problems;
    };
    auto problems = integrity();
    if (!problems.empty()) {
      auto i = add("index", "", 0, fmt::format("{}: {}", index_path, problems));
      if (repair) {
        auto again = db_.exec("REINDEX") ? integrity() : std::string("REINDEX failed");
        if (again.empty())
          rep.findings[i].action = "rebuilt the index's b-tree indexes (REINDEX)";
        else
          return base::error{
              base::errc::corrupt,
              fmt::format("{} is damaged beyond an in-place repair ({})", index_path, again),
              index_path};
      }
    }
  }

  // 2. Folders against their messages: UIDNEXT above every UID, HIGHESTMODSEQ
  // at or above every modseq, no duplicate UIDs.
  std::vector<folder_row> folders;
  std::vector<std::tuple<int64_t, uint32_t, int64_t>> duplicates;  // folder, uid, count
  {
    std::lock_guard lock(db_mu_);
    auto st = db_.prepare(
        "SELECT f.id, f.name, f.uidvalidity, f.uidnext, f.highestmodseq,"
        " (SELECT IFNULL(MAX(uid),0) FROM messages m WHERE m.folder_id = f.id),"
        " (SELECT IFNULL(MAX(modseq),0) FROM messages m WHERE m.folder_id = f.id),"
        " (SELECT IFNULL(MAX(modseq),0) FROM expunged e WHERE e.folder_id = f.id),"
        " (SELECT COUNT(*) FROM messages m WHERE m.folder_id = f.id AND m.modseq <= 0),"
        " (SELECT IFNULL(MAX(uid),0) FROM expunged e WHERE e.folder_id = f.id)"
        " FROM folders f ORDER BY f.name");
    if (!st) return st.err();
    for (;;) {
      auto r = st->step();
      if (r == db::step_result::error) return db_.error_of("reading folders");
      if (r != db::step_result::row) break;
      folder_row f;
      f.id = st->int64(0);
      f.name = st->text(1);
      f.uidvalidity = static_cast<uint32_t>(st->int64(2));
      f.uidnext = st->int64(3);
      f.highestmodseq = st->int64(4);
      f.max_uid = st->int64(5);
      f.max_modseq = st->int64(6);
      f.max_expunged_modseq = st->int64(7);
      f.zero_modseq = st->int64(8);
      f.max_expunged_uid = st->int64(9);
      folders.push_back(std::move(f));
    }
    // NOT INDEXED: a damaged or missing unique index must not hide them.
    auto dup = db_.prepare(
        "SELECT folder_id, uid, COUNT(*) FROM messages NOT INDEXED GROUP BY folder_id, uid "
        "HAVING COUNT(*) > 1");
    if (!dup) return dup.err();
    while (dup->step() == db::step_result::row)
      duplicates.emplace_back(dup->int64(0), static_cast<uint32_t>(dup->int64(1)), dup->int64(2));
  }
  rep.folders = folders.size();
  std::map<int64_t, const folder_row*> folder_of;
  for (auto& f : folders) folder_of[f.id] = &f;
  auto name_of = [&](int64_t id) {
    auto it = folder_of.find(id);
    return it == folder_of.end() ? fmt::format("(folder id {})", id) : it->second->name;
  };
  for (auto& f : folders) {
    if (f.uidnext <= std::max(f.max_uid, f.max_expunged_uid))
      add("uidnext", f.name, 0,
          fmt::format("UIDNEXT {} is not above the highest UID {}: the next message would reuse "
                      "a UID",
                      f.uidnext, std::max(f.max_uid, f.max_expunged_uid)));
    auto top = std::max(f.max_modseq, f.max_expunged_modseq);
    if (f.highestmodseq < top)
      add("modseq", f.name, 0,
          fmt::format("HIGHESTMODSEQ {} is below a change's modseq {}: CONDSTORE clients would "
                      "miss changes",
                      f.highestmodseq, top));
    if (f.zero_modseq > 0)
      add("modseq", f.name, 0, fmt::format("{} message(s) have no modseq", f.zero_modseq));
  }
  for (auto& [fid, uid, n] : duplicates)
    add("duplicate uid", name_of(fid), uid, fmt::format("{} messages share UID {}", n, uid));

  // 3. Every message against its file, in batches: the file exists, its size,
  // header size and dot lines are the row's, and the cached structure and
  // renderings are what the file parses to.
  std::vector<message_fix> fixes;
  std::unordered_set<uint64_t> referenced;
  int64_t last_id = 0;
  for (;;) {
    struct row {
      int64_t id, folder_id;
      uint32_t uid;
      uint64_t blob, size, header_size;
      uint32_t dot_lines;
      std::string structure;
      std::optional<std::string> envelope, bodystructure, body, header;
      std::optional<std::string> inline_bytes;
      bool inline_missing = false;
    };
    std::vector<row> rows;
    {
      std::lock_guard lock(db_mu_);
      auto st = db_.prepare(
          "SELECT m.id, m.folder_id, m.uid, m.blob, m.size, m.header_size, m.dot_lines,"
          " m.structure, m.envelope, m.bodystructure, m.body, m.header,"
          " (SELECT bytes FROM inline_blobs b WHERE b.id = (m.blob & ?)),"
          " (SELECT COUNT(*) FROM inline_blobs b WHERE b.id = (m.blob & ?))"
          " FROM messages m WHERE m.id > ? ORDER BY m.id LIMIT ?");
      if (!st) return st.err();
      auto mask = static_cast<int64_t>(~kept_inline_bit);
      st->bind(1, mask).bind(2, mask).bind(3, last_id).bind(4, batch_rows);
      for (;;) {
        auto r = st->step();
        if (r == db::step_result::error) return db_.error_of("reading messages");
        if (r != db::step_result::row) break;
        row x;
        x.id = st->int64(0);
        x.folder_id = st->int64(1);
        x.uid = static_cast<uint32_t>(st->int64(2));
        x.blob = static_cast<uint64_t>(st->int64(3));
        x.size = static_cast<uint64_t>(st->int64(4));
        x.header_size = static_cast<uint64_t>(st->int64(5));
        x.dot_lines = static_cast<uint32_t>(st->int64(6));
        x.structure = st->text(7);
        auto opt = [&](int c) -> std::optional<std::string> {
          if (st->is_null(c)) return std::nullopt;
          return std::string(st->bytes(c));
        };
        x.envelope = opt(8);
        x.bodystructure = opt(9);
        x.body = opt(10);
        x.header = opt(11);
        if (kept_inline(x.blob)) {
          x.inline_missing = st->int64(13) == 0;
          if (!x.inline_missing) x.inline_bytes = std::string(st->bytes(12));
        }
        rows.push_back(std::move(x));
      }
    }
    if (rows.empty()) break;
    last_id = rows.back().id;
    for (auto& x : rows) {
      ++rep.messages;
      referenced.insert(x.blob);
      auto where = kept_inline(x.blob) ? fmt::format("{} inline_blobs row {}", index_path,
                                                     x.blob & ~kept_inline_bit)
                                       : fmt::format("{}/{}", blobs_dir_, blob_name(x.blob));
      std::optional<derived> d;
      if (kept_inline(x.blob)) {
        if (!x.inline_missing) d = derive(*x.inline_bytes);
      } else {
        int fd = ::openat(blobs_fd_, blob_name(x.blob).c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0 && errno != ENOENT)
          return base::error{base::errc::io_error,
                             fmt::format("cannot read {}: {}", where, std::strerror(errno)), where};
        if (fd >= 0) {
          struct stat st {};
          ::fstat(fd, &st);
          auto len = static_cast<size_t>(st.st_size);
          if (len == 0) {
            d = derive({});
          } else {
            void* data = ::mmap(nullptr, len, PROT_READ, MAP_PRIVATE, fd, 0);
            if (data == MAP_FAILED) {
              ::close(fd);
              return base::error{base::errc::io_error,
                                 fmt::format("cannot map {}: {}", where, std::strerror(errno)),
                                 where};
            }
            d = derive(std::string_view(static_cast<const char*>(data), len));
            ::munmap(data, len);
          }
          ::close(fd);
        }
      }
      auto folder = name_of(x.folder_id);
      if (!d) {
        add("missing file", folder, x.uid,
            fmt::format("the message's file {} is gone: its text cannot be recovered", where));
        fixes.push_back({x.id, x.folder_id, x.uid, x.blob, true, {}});
        continue;
      }
      bool wrong = false;
      if (d->size != x.size || d->header_size != x.header_size || d->dot_lines != x.dot_lines) {
        add("size", folder, x.uid,
            fmt::format("the index says {} bytes ({} of header, {} dot lines), the file {} has {} "
                        "({}, {})",
                        x.size, x.header_size, x.dot_lines, where, d->size, d->header_size,
                        d->dot_lines));
        wrong = true;
      }
      mime::message_structure stored;
      bool readable = mime::deserialize(x.structure, stored);
      bool structure_wrong = !readable || (!stored.legacy_format && x.structure != d->structure) ||
                             (x.envelope && *x.envelope != d->envelope) ||
                             (x.bodystructure && *x.bodystructure != d->bodystructure) ||
                             (x.body && *x.body != d->body) ||
                             (x.header && d->header && *x.header != *d->header);
      if (structure_wrong) {
        add("structure", folder, x.uid,
            fmt::format("the cached MIME structure, ENVELOPE, BODYSTRUCTURE or header {} the "
                        "message's file {}",
                        readable ? "differ from" : "cannot be read; re-read from", where));
        wrong = true;
      }
      if (wrong) fixes.push_back({x.id, x.folder_id, x.uid, x.blob, false, std::move(*d)});
    }
  }

  // 4. Files no row names.
  std::vector<std::string> orphans;
  {
    int dup_fd = ::dup(blobs_fd_);
    DIR* dir = dup_fd >= 0 ? ::fdopendir(dup_fd) : nullptr;
    if (!dir) {
      if (dup_fd >= 0) ::close(dup_fd);
      return base::error{base::errc::io_error,
                         fmt::format("cannot list {}: {}", blobs_dir_, std::strerror(errno)),
                         blobs_dir_};
    }
    ::rewinddir(dir);
    auto now = std::chrono::system_clock::now();
    while (auto* e = ::readdir(dir)) {
      std::string_view name = e->d_name;
      if (!is_blob_name(name)) continue;
      ++rep.files;
      uint64_t id = std::stoull(std::string(name), nullptr, 16);
      if (referenced.count(id) || unlink_pending(id)) continue;
      struct stat st {};
      if (::fstatat(blobs_fd_, e->d_name, &st, 0) != 0) continue;  // gone meanwhile
      // A file's time is when its message was written (a spool file linked
      // as the blob keeps it): a recent one may be an append still committing.
      auto written = std::chrono::system_clock::from_time_t(st.st_mtime);
      if (now - written < orphan_grace) continue;
      orphans.emplace_back(name);
    }
    ::closedir(dir);
    // Rows committed after their batch was read name some of them.
    std::lock_guard lock(db_mu_);
    auto st = db_.prepare("SELECT 1 FROM messages WHERE blob = ?");
    if (!st) return st.err();
    std::erase_if(orphans, [&](const std::string& name) {
      st->reset();
      st->bind(1, static_cast<int64_t>(std::stoull(name, nullptr, 16)));
      return st->step() == db::step_result::row;
    });
  }
  const std::string quarantine = root_ + "/lost+found";
  for (auto& name : orphans)
    add("orphan file", "", 0,
        fmt::format("{}/{} is a message file no index row names (left by a crash after an "
                    "expunge, or a row the index lost)",
                    blobs_dir_, name));

  // 4b. The full-text index against the messages (its repairs are its own).
  check_text_index(rep, repair);

  if (!repair) return rep;

  // What the sessions are shown now: a UID they see that has no row (a row
  // the index lost, the orphan case) must reach them as an expunge.
  std::map<int64_t, std::vector<uint32_t>> shown;
  {
    std::vector<std::shared_ptr<folder_view>> live;
    {
      std::lock_guard vlock(views_mu_);
      for (auto& [id, v] : views_) live.push_back(v);
    }
    for (auto& v : live) {
      auto rd = v->reader();
      auto& uids = shown[v->folder_id];
      for (auto& m : v->messages) uids.push_back(m.uid);
    }
  }

  // 5. Repairs to the index, in one transaction.
  {
    std::lock_guard lock(db_mu_);
    db::transaction txn(db_, db::sync_mode::full);
    if (auto s = txn.begin(); !s) return s.err();
    // Current HIGHESTMODSEQ per folder, raised to cover every change first.
    std::map<int64_t, int64_t> modseq;
    std::map<int64_t, int64_t> uidnext;
    for (auto& f : folders) {
      modseq[f.id] = std::max({f.highestmodseq, f.max_modseq, f.max_expunged_modseq});
      uidnext[f.id] = std::max({f.uidnext, f.max_uid + 1, f.max_expunged_uid + 1});
    }
    auto next_modseq = [&](int64_t fid) { return ++modseq[fid]; };
    auto mark = [&](std::string_view kind, const std::string& folder, uint32_t uid,
                    std::string action) {
      for (auto& f : rep.findings)
        if (f.kind == kind && f.folder == folder && f.uid == uid && f.action.empty()) {
          f.action = std::move(action);
          return;
        }
    };
    for (auto& f : folders) {
      if (f.zero_modseq > 0) {
        auto m = next_modseq(f.id);
        auto up = db_.prepare("UPDATE messages SET modseq = ? WHERE folder_id = ? AND modseq <= 0");
        if (!up) return up.err();
        up->bind(1, m).bind(2, f.id);
        if (up->step() != db::step_result::done) return db_.error_of("setting modseqs");
        mark("modseq", f.name, 0, fmt::format("gave them modseq {}", m));
      }
      if (f.highestmodseq < std::max(f.max_modseq, f.max_expunged_modseq)) {
        mark("modseq", f.name, 0, fmt::format("HIGHESTMODSEQ raised to {}", modseq[f.id]));
      }
    }
    // Duplicates: the first row keeps the UID, the others get new ones.
    for (auto& [fid, uid, n] : duplicates) {
      auto ids = db_.prepare(
          "SELECT id FROM messages NOT INDEXED WHERE folder_id = ? AND uid = ? ORDER BY id");
      if (!ids) return ids.err();
      ids->bind(1, fid).bind(2, static_cast<int64_t>(uid));
      std::vector<int64_t> rows;
      while (ids->step() == db::step_result::row) rows.push_back(ids->int64(0));
      std::string moved;
      for (size_t i = 1; i < rows.size(); ++i) {
        auto new_uid = uidnext[fid]++;
        auto up = db_.prepare("UPDATE messages SET uid = ?, modseq = ? WHERE id = ?");
        if (!up) return up.err();
        up->bind(1, new_uid).bind(2, next_modseq(fid)).bind(3, rows[i]);
        if (up->step() != db::step_result::done) return db_.error_of("renumbering a duplicate");
        moved += fmt::format("{}{}", moved.empty() ? "" : ", ", new_uid);
      }
      mark("duplicate uid", name_of(fid), uid,
           fmt::format("kept UID {} on the first; the others are now UID {}", uid, moved));
    }
    if (!duplicates.empty()) {
      // The table's own UNIQUE constraint was lost with the damage: guard it again.
      if (auto s = db_.exec(
              "CREATE UNIQUE INDEX IF NOT EXISTS messages_folder_uid ON messages(folder_id, uid)");
          !s)
        return s.err();
    }
    auto tomb =
        db_.prepare("INSERT OR REPLACE INTO expunged(folder_id, uid, modseq) VALUES(?,?,?)");
    auto del = db_.prepare("DELETE FROM messages WHERE id = ? AND blob = ?");
    auto rewrite = db_.prepare(
        "UPDATE messages SET size = ?, header_size = ?, dot_lines = ?, structure = ?,"
        " envelope = ?, bodystructure = ?, body = ?, header = ?, modseq = ?"
        " WHERE id = ? AND blob = ?");
    if (!tomb) return tomb.err();
    if (!del) return del.err();
    if (!rewrite) return rewrite.err();
    for (auto& fx : fixes) {
      auto folder = name_of(fx.folder_id);
      if (fx.missing) {
        // Still missing now? (An expunge may have removed row and file meanwhile.)
        if (!kept_inline(fx.blob)) {
          struct stat st {};
          if (::fstatat(blobs_fd_, blob_name(fx.blob).c_str(), &st, 0) == 0) continue;
        }
        del->reset();
        del->bind(1, fx.row_id).bind(2, static_cast<int64_t>(fx.blob));
        if (del->step() != db::step_result::done) return db_.error_of("removing a lost message");
        if (db_.changes() == 0) continue;
        auto m = next_modseq(fx.folder_id);
        tomb->reset();
        tomb->bind(1, fx.folder_id).bind(2, static_cast<int64_t>(fx.uid)).bind(3, m);
        if (tomb->step() != db::step_result::done) return db_.error_of("recording an expunge");
        mark("missing file", folder, fx.uid,
             "removed from the index (clients are told it was expunged); the UIDs of the "
             "others are unchanged");
        continue;
      }
      auto& d = fx.d;
      rewrite->reset();
      rewrite->bind(1, static_cast<int64_t>(d.size))
          .bind(2, static_cast<int64_t>(d.header_size))
          .bind(3, static_cast<int64_t>(d.dot_lines))
          .bind(4, d.structure)
          .bind(5, d.envelope)
          .bind(6, d.bodystructure)
          .bind(7, d.body);
      if (d.header)
        rewrite->bind(8, *d.header);
      else
        rewrite->bind_null(8);
      // A new modseq, so the sessions' views take the new size and structure.
      auto m = modseq[fx.folder_id] + 1;
      rewrite->bind(9, m).bind(10, fx.row_id).bind(11, static_cast<int64_t>(fx.blob));
      if (rewrite->step() != db::step_result::done) return db_.error_of("rewriting a message row");
      if (db_.changes() == 0) continue;
      modseq[fx.folder_id] = m;
      mark("size", folder, fx.uid, "row rewritten from the file");
      mark("structure", folder, fx.uid, "row rewritten from the file");
    }
    auto exists = db_.prepare("SELECT 1 FROM messages WHERE folder_id = ? AND uid = ?");
    auto vanished =
        db_.prepare("INSERT OR IGNORE INTO expunged(folder_id, uid, modseq) VALUES(?,?,?)");
    if (!exists) return exists.err();
    if (!vanished) return vanished.err();
    for (auto& [fid, uids] : shown) {
      if (!modseq.count(fid)) continue;  // the folder itself is gone
      for (auto uid : uids) {
        exists->reset();
        exists->bind(1, fid).bind(2, static_cast<int64_t>(uid));
        if (exists->step() == db::step_result::row) continue;
        vanished->reset();
        vanished->bind(1, fid).bind(2, static_cast<int64_t>(uid)).bind(3, modseq[fid] + 1);
        if (vanished->step() != db::step_result::done) return db_.error_of("recording an expunge");
        if (db_.changes() == 0) continue;  // expunged the ordinary way meanwhile
        ++modseq[fid];
        uidnext[fid] = std::max(uidnext[fid], static_cast<int64_t>(uid) + 1);
        rep.findings.push_back({"missing row", name_of(fid), uid,
                                "sessions show this message but the index has no row for it",
                                "recorded as expunged, so every client forgets it"});
      }
    }
    for (auto& f : folders)
      if (f.uidnext <= std::max(f.max_uid, f.max_expunged_uid))
        mark("uidnext", f.name, 0, fmt::format("UIDNEXT set to {}", uidnext[f.id]));
    auto upd = db_.prepare("UPDATE folders SET uidnext = ?, highestmodseq = ? WHERE id = ?");
    if (!upd) return upd.err();
    for (auto& f : folders) {
      upd->reset();
      upd->bind(1, uidnext[f.id]).bind(2, modseq[f.id]).bind(3, f.id);
      if (upd->step() != db::step_result::done) return db_.error_of("updating a folder");
    }
    if (auto s = txn.commit(); !s) return s.err();
  }

  // 6. Orphan files to lost+found/ (never deleted).
  if (!orphans.empty()) {
    if (auto s = base::make_directories(quarantine); !s) return s.err();
    for (auto& name : orphans) {
      auto to = quarantine + "/" + name;
      if (::renameat(blobs_fd_, name.c_str(), AT_FDCWD, to.c_str()) != 0)
        return base::error{
            base::errc::io_error,
            fmt::format("cannot move {}/{} to {}: {}", blobs_dir_, name, to, std::strerror(errno)),
            to};
      for (auto& f : rep.findings)
        if (f.kind == "orphan file" && f.action.empty() && f.detail.find(name) != std::string::npos)
          f.action = fmt::format(
              "moved to {} (postern mailbox repair --restore makes it a "
              "message of the folder {})",
              to, recovered_folder);
    }
    rep.quarantine = quarantine;
  }

  // 7. --restore: quarantined files become messages of Recovered, with new UIDs.
  if (mode == check_mode::restore && std::filesystem::is_directory(quarantine)) {
    std::vector<std::string> names;
    for (auto& e : std::filesystem::directory_iterator(quarantine))
      if (is_blob_name(e.path().filename().string())) names.push_back(e.path().string());
    std::sort(names.begin(), names.end());
    if (!names.empty()) {
      auto made = create_folder(recovered_folder, "");
      if (!made && made.err().code != base::errc::already_exists) return made.err();
    }
    for (auto& path : names) {
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      struct stat st {};
      ::fstat(fd, &st);
      std::string bytes(static_cast<size_t>(st.st_size), '\0');
      bool read_ok = ::pread(fd, bytes.data(), bytes.size(), 0) == st.st_size;
      ::close(fd);
      if (!read_ok) continue;
      new_message msg{bytes, static_cast<int64_t>(st.st_mtime), 0};
      auto uid = append(recovered_folder, msg);
      if (!uid) return uid.err();
      ::unlink(path.c_str());
      check_finding f;
      f.kind = "orphan file";
      f.folder = recovered_folder;
      f.uid = *uid;
      f.detail = fmt::format("{} from lost+found", path);
      f.action = fmt::format("restored as UID {} of {}", *uid, recovered_folder);
      rep.findings.push_back(std::move(f));
    }
  }

  {
    std::lock_guard lock(db_mu_);
    forget_listing();
  }
  refresh_views();
  notifier_.notify();
  return rep;
}

}  // namespace postern::store
