// The IMAP side of the SQLite mailbox: folders, flags, copies and moves,
// atomic multi-appends, and the shared folder views (folder_view.hpp).
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "base/strings.hpp"
#include "mime/imap_structure.hpp"
#include "mime/message_structure.hpp"
#include "store/blob_file.hpp"
#include "store/folder_view.hpp"
#include "store/sqlite_mailbox.hpp"

namespace postern::store {

namespace {
constexpr int64_t max_uid = 0xFFFFFFFFll;

// "A/" for children of "A".
std::string child_prefix(std::string_view name) { return std::string(name) + "/"; }

bool has_keyword(const std::vector<std::string>& list, std::string_view k) {
  for (auto& x : list)
    if (base::iequals(x, k)) return true;
  return false;
}
}  // namespace

int folder_view::keyword_index(std::string_view name) const {
  for (size_t i = 0; i < keywords.size(); ++i)
    if (base::iequals(keywords[i], name)) return static_cast<int>(i);
  return -1;
}

base::result<std::vector<folder_entry>> sqlite_mailbox::folders() {
  std::lock_guard lock(db_mu_);
  return read_folders();
}

base::result<std::vector<folder_entry>> sqlite_mailbox::read_folders() {
  auto st = db_.prepare(
      "SELECT id, name, special_use, EXISTS(SELECT 1 FROM subscriptions s WHERE s.name = "
      "folders.name) FROM folders ORDER BY name");
  if (!st) return st.err();
  std::vector<folder_entry> out;
  db::step_result r;
  while ((r = st->step()) == db::step_result::row)
    out.push_back({st->int64(0), st->text(1), st->text(2), st->int64(3) != 0});
  if (r == db::step_result::error) return db_.error_of("listing folders");
  return out;
}

base::status sqlite_mailbox::create_folder(std::string_view name, std::string_view special_use) {
  {
    std::lock_guard lock(db_mu_);
    db::transaction txn(db_);
    if (auto s = txn.begin(); !s) return s;
    auto f = find_folder(name, false);
    if (f)
      return base::error{base::errc::already_exists, fmt::format("folder {} exists", name), ""};
    if (f.err().code != base::errc::not_found) return f.err();
    if (!special_use.empty()) {
      auto taken = db_.prepare("SELECT name FROM folders WHERE special_use = ?");
      if (!taken) return taken.err();
      taken->bind(1, special_use);
      if (taken->step() == db::step_result::row)
        return base::error{
            base::errc::already_exists,
            fmt::format("folder {} already has the {} attribute", taken->text(0), special_use), ""};
    }
    if (auto s = create_folder_row(name, special_use); !s) return s;
    if (auto s = txn.commit(); !s) return s;
  }
  notifier_.notify();
  return base::ok_status();
}

base::status sqlite_mailbox::delete_folder(std::string_view name) {
  if (name == "INBOX")
    return base::error{base::errc::cannot, "INBOX cannot be deleted (RFC 9051 §6.3.4)", ""};
  std::vector<uint64_t> blobs;
  {
    std::lock_guard lock(db_mu_);
    db::transaction txn(db_);
    if (auto s = txn.begin(); !s) return s;
    auto f = find_folder(name, false);
    if (!f) return f.err();
    auto kids = db_.prepare("SELECT count(*) FROM folders WHERE substr(name, 1, ?) = ?");
    if (!kids) return kids.err();
    auto prefix = child_prefix(name);
    kids->bind(1, static_cast<int64_t>(prefix.size())).bind(2, prefix);
    if (kids->step() != db::step_result::row) return db_.error_of("looking for child folders");
    if (kids->int64(0) > 0)
      return base::error{
          base::errc::in_use,
          fmt::format("folder {} has {} child folder(s); delete them first", name, kids->int64(0)),
          ""};
    auto sel = db_.prepare("SELECT blob FROM messages WHERE folder_id = ?");
    if (!sel) return sel.err();
    sel->bind(1, f->id);
    while (sel->step() == db::step_result::row)
      blobs.push_back(static_cast<uint64_t>(sel->int64(0)));
    for (auto sql :
         {"DELETE FROM messages WHERE folder_id = ?", "DELETE FROM expunged WHERE folder_id = ?",
          "DELETE FROM folders WHERE id = ?"}) {
      auto del = db_.prepare(sql);
      if (!del) return del.err();
      del->bind(1, f->id);
      if (del->step() != db::step_result::done) return db_.error_of("deleting folder");
    }
    if (auto s = drop_unreferenced_inline(blobs); !s) return s;
    forget_listing();
    if (auto s = txn.commit(); !s) return s;
  }
  remove_unreferenced(blobs, db::sync_mode::full);
  refresh_views();
  notifier_.notify();
  return base::ok_status();
}

base::status sqlite_mailbox::rename_folder(std::string_view from, std::string_view to) {
  {
    std::lock_guard lock(db_mu_);
    db::transaction txn(db_);
    if (auto s = txn.begin(); !s) return s;
    auto f = find_folder(from, from == "INBOX");
    if (!f) return f.err();
    if (auto t = find_folder(to, false); t)
      return base::error{base::errc::already_exists, fmt::format("folder {} exists", to), ""};
    auto set_name = db_.prepare("UPDATE folders SET name = ? WHERE id = ?");
    if (!set_name) return set_name.err();
    set_name->bind(1, to).bind(2, f->id);
    if (set_name->step() != db::step_result::done) return db_.error_of("renaming folder");
    if (from == "INBOX") {
      // RFC 9051 §6.3.6: INBOX's messages move to the new name, INBOX stays
      // (empty, with a new UIDVALIDITY) and its children are not renamed.
      if (auto s = create_folder_row("INBOX", ""); !s) return s;
    } else {
      auto prefix = child_prefix(from);
      auto kids = db_.prepare(
          "UPDATE folders SET name = ? || substr(name, ?) WHERE substr(name, 1, ?) = ?");
      if (!kids) return kids.err();
      kids->bind(1, child_prefix(to))
          .bind(2, static_cast<int64_t>(prefix.size()) + 1)
          .bind(3, static_cast<int64_t>(prefix.size()))
          .bind(4, prefix);
      if (kids->step() != db::step_result::done) return db_.error_of("renaming child folders");
    }
    forget_listing();
    if (auto s = txn.commit(); !s) return s;
  }
  refresh_views();
  notifier_.notify();
  return base::ok_status();
}

base::status sqlite_mailbox::subscribe(std::string_view name, bool on) {
  std::lock_guard lock(db_mu_);
  auto st = db_.prepare(on ? "INSERT OR IGNORE INTO subscriptions(name) VALUES(?)"
                           : "DELETE FROM subscriptions WHERE name = ?");
  if (!st) return st.err();
  st->bind(1, name);
  auto done = st->step();
  forget_listing();
  if (done != db::step_result::done) return db_.error_of("subscribing");
  return base::ok_status();
}

base::result<std::vector<std::string>> sqlite_mailbox::subscriptions() {
  std::lock_guard lock(db_mu_);
  return read_subscriptions();
}

base::result<std::vector<std::string>> sqlite_mailbox::read_subscriptions() {
  auto st = db_.prepare("SELECT name FROM subscriptions ORDER BY name");
  if (!st) return st.err();
  std::vector<std::string> out;
  db::step_result r;
  while ((r = st->step()) == db::step_result::row) out.push_back(st->text(0));
  if (r == db::step_result::error) return db_.error_of("listing subscriptions");
  return out;
}

base::result<folder_listing> sqlite_mailbox::listing() {
  // As view(): what another process committed counts as seen from here on,
  // so the next LIST can be answered from what this one keeps.
  poll_external_changes();
  // Both under one hold of db_mu_: a commit that changes either forgets the
  // kept listing under it too, so what is kept is never older than a commit.
  std::lock_guard lock(db_mu_);
  auto folders = read_folders();
  if (!folders) return folders.err();
  auto subscribed = read_subscriptions();
  if (!subscribed) return subscribed.err();
  folder_listing out{std::move(*folders), std::move(*subscribed)};
  std::lock_guard kept(listing_mu_);
  listing_ = out;
  return out;
}

std::optional<folder_listing> sqlite_mailbox::resident_listing() {
  // Never waits, as resident_view(): a commit in progress may be changing it.
  std::unique_lock lock(db_mu_, std::try_to_lock);
  if (!lock.owns_lock()) return std::nullopt;
  // Another process (postern mailbox, a second node on the data dir) may
  // have created or subscribed a folder: only listing() sees that.
  if (!no_external_commit_pending()) return std::nullopt;
  std::lock_guard kept(listing_mu_);
  return listing_;
}

void sqlite_mailbox::forget_listing() {
  std::lock_guard kept(listing_mu_);
  listing_.reset();
}

base::result<std::vector<std::string>> sqlite_mailbox::folder_keywords(
    int64_t folder_id, std::span<const std::string> names) {
  auto st = db_.prepare("SELECT keywords FROM folders WHERE id = ?");
  if (!st) return st.err();
  st->bind(1, folder_id);
  if (st->step() != db::step_result::row) return db_.error_of("reading keywords");
  auto list = base::split(st->text(0), ' ');
  size_t before = list.size();
  for (auto& n : names)
    if (!has_keyword(list, n)) list.push_back(n);
  if (list.size() == before) return list;
  if (list.size() > max_keywords_per_folder)
    return base::error{base::errc::limit_exceeded,
                       fmt::format("a folder holds at most {} keywords", max_keywords_per_folder),
                       ""};
  auto put = db_.prepare("UPDATE folders SET keywords = ? WHERE id = ?");
  if (!put) return put.err();
  put->bind(1, base::join(list, " ")).bind(2, folder_id);
  if (put->step() != db::step_result::done) return db_.error_of("recording keywords");
  return list;
}

base::result<flag_result> sqlite_mailbox::store_flags(std::string_view folder,
                                                      std::span<const uint32_t> uids,
                                                      const flag_update& u) {
  flag_result out;
  int64_t folder_id = 0;
  uint64_t before = 0;
  std::vector<flag_patch> patches;
  {
    std::lock_guard lock(db_mu_);
    // Flags are not mail: a change survives the process being killed at
    // once, and power loss from the next delivery or sync (db::sync_mode).
    db::transaction txn(db_, db::sync_mode::deferred);
    if (auto s = txn.begin(); !s) return s.err();
    auto f = find_folder(folder, false);
    if (!f) return f.err();
    folder_id = f->id;
    if (!u.keywords.empty() && u.how != flag_change::remove) {
      auto kw = folder_keywords(f->id, u.keywords);
      if (!kw) return kw.err();
    }
    auto sel =
        db_.prepare("SELECT flags, keywords, modseq FROM messages WHERE folder_id = ? AND uid = ?");
    auto upd = db_.prepare(
        "UPDATE messages SET flags = ?, keywords = ?, modseq = ? WHERE folder_id = ? AND uid = ?");
    if (!sel) return sel.err();
    if (!upd) return upd.err();
    uint64_t modseq = f->highestmodseq;
    before = modseq;
    for (auto uid : uids) {
      sel->reset();
      sel->bind(1, f->id).bind(2, static_cast<int64_t>(uid));
      auto r = sel->step();
      if (r == db::step_result::error) return db_.error_of("reading flags");
      if (r != db::step_result::row) continue;  // expunged meanwhile
      uint32_t flags = static_cast<uint32_t>(sel->int64(0));
      auto kws = base::split(sel->text(1), ' ');
      uint64_t old_modseq = static_cast<uint64_t>(sel->int64(2));
      if (u.unchanged_since && old_modseq > *u.unchanged_since) {
        out.modified.push_back(uid);
        continue;
      }
      uint32_t nflags = flags;
      std::vector<std::string> nkws = kws;
      switch (u.how) {
        case flag_change::replace:
          nflags = u.flags;
          nkws.clear();
          for (auto& k : u.keywords)
            if (!has_keyword(nkws, k)) nkws.push_back(k);
          break;
        case flag_change::add:
          nflags |= u.flags;
          for (auto& k : u.keywords)
            if (!has_keyword(nkws, k)) nkws.push_back(k);
          break;
        case flag_change::remove:
          nflags &= ~u.flags;
          std::erase_if(nkws, [&](const std::string& k) { return has_keyword(u.keywords, k); });
          break;
      }
      auto same_keywords = [&] {
        if (nkws.size() != kws.size()) return false;
        for (auto& k : nkws)
          if (!has_keyword(kws, k)) return false;
        return true;
      };
      if (nflags == flags && same_keywords()) continue;  // no change, no new modseq
      ++modseq;
      upd->reset();
      upd->bind(1, static_cast<int64_t>(nflags))
          .bind(2, base::join(nkws, " "))
          .bind(3, static_cast<int64_t>(modseq))
          .bind(4, f->id)
          .bind(5, static_cast<int64_t>(uid));
      if (upd->step() != db::step_result::done) return db_.error_of("storing flags");
      message_meta m;
      m.uid = uid;
      m.flags = nflags;
      m.modseq = modseq;
      out.changed.push_back(m);
      patches.push_back({uid, nflags, modseq, std::move(nkws)});
    }
    if (modseq != f->highestmodseq) {
      auto hm = db_.prepare("UPDATE folders SET highestmodseq = ? WHERE id = ?");
      if (!hm) return hm.err();
      hm->bind(1, static_cast<int64_t>(modseq)).bind(2, f->id);
      if (hm->step() != db::step_result::done) return db_.error_of("advancing HIGHESTMODSEQ");
    }
    if (auto s = txn.commit(); !s) return s.err();
  }
  if (!out.changed.empty()) {
    patch_view(folder_id, before, out.changed.back().modseq, patches, {});
    notifier_.notify();
  }
  return out;
}

base::result<copy_result> sqlite_mailbox::copy(std::string_view from,
                                               std::span<const uint32_t> uids, std::string_view to,
                                               bool move) {
  copy_result out;
  int64_t from_id = 0, to_id = 0;
  {
    std::lock_guard lock(db_mu_);
    db::transaction txn(db_);
    if (auto s = txn.begin(); !s) return s.err();
    auto src = find_folder(from, false);
    if (!src) return src.err();
    auto dst = find_folder(to, to == "INBOX");
    if (!dst) return dst.err();
    from_id = src->id;
    to_id = dst->id;
    if (move) forget_sort_keys(from_id);
    // A MOVE to the same folder gives the messages new UIDs (RFC 6851 §3.3
    // does not forbid it, and Dovecot allows it).
    out.uidvalidity = dst->uidvalidity;
    auto sel = db_.prepare("SELECT keywords FROM messages WHERE folder_id = ? AND uid = ?");
    // Every column but id, folder, uid, modseq and save date comes along;
    // the blob is shared, so no byte of the message is copied.
    auto ins = db_.prepare(
        "INSERT INTO messages(folder_id, uid, blob, size, internal_date, flags, keywords, modseq,"
        " header_size, dot_lines, subject, from_addr, to_addr, cc_addr, date_header, message_id,"
        " structure, envelope, bodystructure, body, header, sort_keys, preview, save_date)"
        " SELECT ?, ?, blob, size, internal_date, flags, keywords, ?, header_size, dot_lines,"
        " subject, from_addr, to_addr, cc_addr, date_header, message_id, structure, envelope,"
        " bodystructure, body, header, sort_keys, preview, ? FROM messages"
        " WHERE folder_id = ? AND uid = ?");
    auto del = db_.prepare("DELETE FROM messages WHERE folder_id = ? AND uid = ?");
    auto tomb =
        db_.prepare("INSERT OR REPLACE INTO expunged(folder_id, uid, modseq) VALUES(?,?,?)");
    if (!sel) return sel.err();
    if (!ins) return ins.err();
    if (!del) return del.err();
    if (!tomb) return tomb.err();
    uint64_t next_uid = dst->uidnext;
    uint64_t dst_modseq = dst->highestmodseq + 1;
    uint64_t src_modseq = src->highestmodseq + 1;
    int64_t now = static_cast<int64_t>(::time(nullptr));
    std::vector<std::string> carried;
    for (auto uid : uids) {
      sel->reset();
      sel->bind(1, src->id).bind(2, static_cast<int64_t>(uid));
      auto r = sel->step();
      if (r == db::step_result::error) return db_.error_of("reading message");
      if (r != db::step_result::row) continue;  // expunged meanwhile: not copied
      for (auto& k : base::split(sel->text(0), ' '))
        if (!has_keyword(carried, k)) carried.push_back(k);
      if (next_uid > static_cast<uint64_t>(max_uid))
        return base::error{
            base::errc::limit_exceeded,
            fmt::format("folder {} has used every UID up to 4294967295 (RFC 9051 §2.3.1.1)", to),
            ""};
      ins->reset();
      ins->bind(1, dst->id)
          .bind(2, static_cast<int64_t>(next_uid))
          .bind(3, static_cast<int64_t>(dst_modseq))
          .bind(4, now)
          .bind(5, src->id)
          .bind(6, static_cast<int64_t>(uid));
      if (ins->step() != db::step_result::done) return db_.error_of("copying message");
      out.source_uids.push_back(uid);
      out.dest_uids.push_back(static_cast<uint32_t>(next_uid));
      ++next_uid;
      if (move) {
        del->reset();
        del->bind(1, src->id).bind(2, static_cast<int64_t>(uid));
        if (del->step() != db::step_result::done) return db_.error_of("moving message");
        tomb->reset();
        tomb->bind(1, src->id)
            .bind(2, static_cast<int64_t>(uid))
            .bind(3, static_cast<int64_t>(src_modseq));
        if (tomb->step() != db::step_result::done) return db_.error_of("recording expunge");
      }
    }
    if (out.source_uids.empty()) return out;
    if (!carried.empty()) {
      auto kw = folder_keywords(dst->id, carried);
      if (!kw) return kw.err();
    }
    auto upd = db_.prepare("UPDATE folders SET uidnext = ?, highestmodseq = ? WHERE id = ?");
    if (!upd) return upd.err();
    upd->bind(1, static_cast<int64_t>(next_uid))
        .bind(2, static_cast<int64_t>(dst_modseq))
        .bind(3, dst->id);
    if (upd->step() != db::step_result::done) return db_.error_of("advancing UIDNEXT");
    if (move) {
      auto hm = db_.prepare("UPDATE folders SET highestmodseq = ? WHERE id = ?");
      if (!hm) return hm.err();
      hm->bind(1, static_cast<int64_t>(src_modseq)).bind(2, src->id);
      if (hm->step() != db::step_result::done) return db_.error_of("advancing HIGHESTMODSEQ");
    }
    if (auto s = txn.commit(); !s) return s.err();
  }
  refresh_views({from_id, to_id});
  notifier_.notify();
  return out;
}

base::status sqlite_mailbox::prepare_file(pending_append& p, const spooled_message& msg) {
  p.size = msg.size;
  p.internal_date = msg.internal_date ? msg.internal_date : static_cast<int64_t>(::time(nullptr));
  p.flags = msg.flags;
  p.dot_lines = msg.dot_lines;
  if (!msg.file) {
    // In memory: parsed there, and kept in the index by the commit when it is
    // small, else written to its blob (synced) in one go.
    p.parse(msg.bytes);
    p.render();
    if (msg.bytes.size() <= max_inline_blob) {
      p.keep_inline = true;
      p.inline_bytes = msg.bytes;
      return base::ok_status();
    }
    auto blob = create_blob(blobs_fd_, blobs_dir_, msg.bytes);
    if (!blob) return blob.err();
    p.blob = *blob;
    return base::ok_status();
  }
  if (msg.size > 0) {
    size_t len = static_cast<size_t>(msg.size);
    void* data = ::mmap(nullptr, len, PROT_READ, MAP_PRIVATE, msg.file->fd, 0);
    if (data == MAP_FAILED)
      return base::error{
          base::errc::io_error,
          fmt::format("cannot map spool file {}: {}", msg.file->path, std::strerror(errno)), ""};
    p.parse(std::string_view(static_cast<const char*>(data), len));
    ::madvise(data, len, MADV_DONTNEED);
    ::munmap(data, len);
  } else {
    p.parse({});
  }
  p.render();  // before the transaction takes the lock
  auto blob =
      link_blob(blobs_fd_, blobs_dir_, msg.file->fd, msg.file->link_source(), msg.file->path);
  if (!blob) return blob.err();
  p.blob = *blob;
  return base::ok_status();
}

base::result<appended> sqlite_mailbox::append_files(
    std::string_view folder, std::span<const spooled_message> msgs,
    std::span<const std::vector<std::string>> keywords) {
  std::vector<pending_append> batch(msgs.size());
  std::vector<uint64_t> linked;
  auto drop_linked = [&] {
    for (auto b : linked) ::unlinkat(blobs_fd_, blob_name(b).c_str(), 0);
  };
  for (size_t i = 0; i < msgs.size(); ++i) {
    batch[i].folder = std::string(folder);
    if (i < keywords.size()) batch[i].keywords = keywords[i];
    if (auto s = prepare_file(batch[i], msgs[i]); !s) {
      drop_linked();
      return s.err();
    }
    if (!batch[i].keep_inline) linked.push_back(batch[i].blob);
  }
  // Nothing is acknowledged before the names are durable.
  if (!linked.empty())
    if (auto s = sync_directory(blobs_fd_, blobs_dir_); !s) {
      drop_linked();
      return s.err();
    }
  appended out;
  auto& uids = out.uids;
  int64_t folder_id = 0;
  {
    std::lock_guard lock(db_mu_);
    db::transaction txn(db_);
    auto fail = [&](base::error e) -> base::result<appended> {
      drop_linked();
      return e;
    };
    if (auto s = txn.begin(); !s) return fail(s.err());
    auto f = find_folder(folder, folder == "INBOX");
    if (!f) return fail(f.err());
    out.uidvalidity = f->uidvalidity;
    folder_id = f->id;
    auto ins = db_.prepare(pending_append::insert_sql);
    if (!ins) return fail(ins.err());
    std::vector<std::string> all_keywords;
    for (auto& p : batch)
      for (auto& k : p.keywords)
        if (!has_keyword(all_keywords, k)) all_keywords.push_back(k);
    if (!all_keywords.empty()) {
      auto kw = folder_keywords(f->id, all_keywords);
      if (!kw) return fail(kw.err());
    }
    uint64_t uid = f->uidnext;
    uint64_t modseq = f->highestmodseq + 1;
    int64_t now = static_cast<int64_t>(::time(nullptr));
    for (auto& p : batch) {
      if (uid > static_cast<uint64_t>(max_uid))
        return fail(base::error{
            base::errc::limit_exceeded,
            fmt::format("folder {} has used every UID up to 4294967295 (RFC 9051 §2.3.1.1)",
                        folder),
            ""});
      if (auto s = store_inline(p); !s) return fail(s.err());
      ins->reset();
      p.bind_row(*ins, f->id, static_cast<uint32_t>(uid), modseq, now);
      if (ins->step() != db::step_result::done) return fail(db_.error_of("storing message"));
      if (auto s = queue_for_index(p.blob); !s) return fail(s.err());
      uids.push_back(static_cast<uint32_t>(uid));
      ++uid;
    }
    auto upd = db_.prepare("UPDATE folders SET uidnext = ?, highestmodseq = ? WHERE id = ?");
    if (!upd) return fail(upd.err());
    upd->bind(1, static_cast<int64_t>(uid)).bind(2, static_cast<int64_t>(modseq)).bind(3, f->id);
    if (upd->step() != db::step_result::done) return fail(db_.error_of("advancing UIDNEXT"));
    if (auto s = txn.commit(); !s) return fail(s.err());
    unlink_synced();  // a full commit: deferred expunges before it are synced too
  }
  refresh_views({folder_id});
  notifier_.notify();
  announce_queued();
  return out;
}

base::result<std::vector<uint32_t>> sqlite_mailbox::expunged_since(std::string_view folder,
                                                                   uint64_t modseq) {
  std::lock_guard lock(db_mu_);
  auto f = find_folder(folder, false);
  if (!f) return f.err();
  auto st = db_.prepare("SELECT uid FROM expunged WHERE folder_id = ? AND modseq > ? ORDER BY uid");
  if (!st) return st.err();
  st->bind(1, f->id).bind(2, static_cast<int64_t>(modseq));
  std::vector<uint32_t> out;
  db::step_result r;
  while ((r = st->step()) == db::step_result::row)
    out.push_back(static_cast<uint32_t>(st->int64(0)));
  if (r == db::step_result::error) return db_.error_of("reading expunges");
  return out;
}

base::status sqlite_mailbox::save_recent(std::string_view folder, uint32_t uid) {
  std::lock_guard lock(db_mu_);
  // \\Recent is advisory (RFC 3501 §2.3.2): committed without an fsync of
  // its own, like flags; every SELECT that sees new mail writes it.
  db::transaction txn(db_, db::sync_mode::deferred);
  if (auto s = txn.begin(); !s) return s.err();
  auto f = find_folder(folder, false);
  if (!f) return f.err();
  auto st = db_.prepare("UPDATE folders SET recent_uid = max(recent_uid, ?) WHERE id = ?");
  if (!st) return st.err();
  st->bind(1, static_cast<int64_t>(uid)).bind(2, f->id);
  if (st->step() != db::step_result::done) return db_.error_of("recording \\Recent");
  return txn.commit();
}

template <class F>
auto sqlite_mailbox::with_reader(F&& f) -> decltype(f(std::declval<db::database&>())) {
  // Try each connection once without waiting, then wait for one.
  size_t start = next_reader_.fetch_add(1);
  for (size_t i = 0; i <= reader_count; ++i) {
    auto& r = readers_[(start + i) % reader_count];
    std::unique_lock lock(r.mu, std::defer_lock);
    if (i < reader_count ? !lock.try_lock() : (lock.lock(), false)) continue;
    if (!r.opened) {
      auto db = db::database::open(root_ + "/index.sqlite", false);
      if (!db) return db.err();
      r.db = std::move(*db);
      r.opened = true;
      if (auto s = r.db.exec("PRAGMA cache_size=-256"); !s) return s.err();
    }
    return f(r.db);
  }
  return base::error{base::errc::temporary, "no reader connection", ""};
}

template <class F>
auto sqlite_mailbox::with_warm_connection(F&& f) -> decltype(f(std::declval<db::database&>())) {
  std::unique_lock lock(db_mu_, std::try_to_lock);
  if (lock.owns_lock()) return f(db_);
  return with_reader(std::forward<F>(f));
}

base::result<std::string> sqlite_mailbox::structure(std::string_view folder, uint32_t uid) {
  return with_reader([&](db::database& db) -> base::result<std::string> {
    auto st = db.prepare(
        "SELECT m.structure FROM messages m JOIN folders f ON f.id = m.folder_id"
        " WHERE f.name = ? AND m.uid = ?");
    if (!st) return st.err();
    st->bind(1, folder).bind(2, static_cast<int64_t>(uid));
    auto r = st->step();
    if (r == db::step_result::row) return st->text(0);
    if (r == db::step_result::error) return db.error_of("reading message structure");
    return base::error{base::errc::expunge_issued,
                       fmt::format("message UID {} was expunged by another session", uid), ""};
  });
}

base::result<std::vector<std::optional<stored_structure>>> sqlite_mailbox::structures(
    std::string_view folder, const std::vector<uint32_t>& uids, bool headers, bool parts) {
  using texts = std::vector<std::optional<stored_structure>>;
  return with_warm_connection([&](db::database& db) -> base::result<texts> {
    // One read transaction and one prepared statement on one reader
    // connection for all of them: a thread-pool round trip per message, then
    // a lock (fcntl) per statement, were most of FETCH 1:* (ENVELOPE)'s time.
    // A deferred BEGIN takes only the shared lock (BEGIN IMMEDIATE, as
    // db::transaction does, would contend with the writer).
    if (auto s = db.exec("BEGIN"); !s) return s.err();
    struct end_read {
      db::database& db;
      ~end_read() { (void)db.exec("COMMIT"); }
    } ender{db};
    auto id = db.prepare("SELECT id FROM folders WHERE name = ?");
    if (!id) return id.err();
    id->bind(1, folder);
    auto found = id->step();
    if (found == db::step_result::error) return db.error_of("reading message structures");
    const int64_t folder_id = found == db::step_result::row ? id->int64(0) : -1;
    // A header is read only when asked for: its bytes are most of the row.
    // The structure text only when it may be needed: copying it out of every
    // row of FETCH 1:100 (ENVELOPE) cost more than the rest of the read.
    // By UID, or, for a run of UIDs in order with few gaps (a batch of
    // FETCH 1:*), one scan of the range: its rows come one after another,
    // where a statement per UID searched the table from its root each time
    // and read most pages again (two thirds of FETCH 1:* (ENVELOPE) on a
    // folder larger than the page cache).
    static constexpr const char* sql[2][2][2] = {
        {{"SELECT CASE WHEN envelope IS NULL OR bodystructure IS NULL OR body IS NULL"
          " THEN structure ELSE '' END, envelope, bodystructure, body, NULL, uid"
          " FROM messages WHERE folder_id = ? AND uid = ?",
          "SELECT CASE WHEN envelope IS NULL OR bodystructure IS NULL OR body IS NULL"
          " THEN structure ELSE '' END, envelope, bodystructure, body, header, uid"
          " FROM messages WHERE folder_id = ? AND uid = ?"},
         {"SELECT structure, envelope, bodystructure, body, NULL, uid"
          " FROM messages WHERE folder_id = ? AND uid = ?",
          "SELECT structure, envelope, bodystructure, body, header, uid"
          " FROM messages WHERE folder_id = ? AND uid = ?"}},
        {{"SELECT CASE WHEN envelope IS NULL OR bodystructure IS NULL OR body IS NULL"
          " THEN structure ELSE '' END, envelope, bodystructure, body, NULL, uid"
          " FROM messages WHERE folder_id = ? AND uid BETWEEN ? AND ? ORDER BY uid",
          "SELECT CASE WHEN envelope IS NULL OR bodystructure IS NULL OR body IS NULL"
          " THEN structure ELSE '' END, envelope, bodystructure, body, header, uid"
          " FROM messages WHERE folder_id = ? AND uid BETWEEN ? AND ? ORDER BY uid"},
         {"SELECT structure, envelope, bodystructure, body, NULL, uid"
          " FROM messages WHERE folder_id = ? AND uid BETWEEN ? AND ? ORDER BY uid",
          "SELECT structure, envelope, bodystructure, body, header, uid"
          " FROM messages WHERE folder_id = ? AND uid BETWEEN ? AND ? ORDER BY uid"}}};
    bool ascending = std::is_sorted(uids.begin(), uids.end()) && !uids.empty() &&
                     std::adjacent_find(uids.begin(), uids.end()) == uids.end();
    bool scan = ascending && uint64_t{uids.back()} - uids.front() < 2 * uint64_t{uids.size()};
    auto st = db.prepare(sql[scan][parts][headers]);
    if (!st) return st.err();
    texts out;
    out.reserve(uids.size());
    uint64_t header_bytes = 0;
    auto take_row = [&] {
      stored_structure rec{st->text(0), std::nullopt, std::nullopt, std::nullopt, std::nullopt};
      auto optional_text = [&](int col) {
        return st->is_null(col) ? std::nullopt : std::optional<std::string>(st->text(col));
      };
      rec.envelope = optional_text(1);
      rec.bodystructure = optional_text(2);
      rec.body = optional_text(3);
      if (header_bytes < header_batch_bytes) {
        rec.header = optional_text(4);
        if (rec.header) header_bytes += rec.header->size();
      }
      out.emplace_back(std::move(rec));
    };
    if (scan) {
      st->bind(1, folder_id)
          .bind(2, static_cast<int64_t>(uids.front()))
          .bind(3, static_cast<int64_t>(uids.back()));
      size_t next = 0;  // the first of `uids` not answered yet
      db::step_result r;
      while ((r = st->step()) == db::step_result::row) {
        auto uid = static_cast<uint32_t>(st->int64(5));
        for (; next < uids.size() && uids[next] < uid; ++next) out.emplace_back();  // expunged
        if (next == uids.size() || uids[next] != uid) continue;                     // not asked for
        take_row();
        ++next;
      }
      if (r == db::step_result::error) return db.error_of("reading message structures");
      for (; next < uids.size(); ++next) out.emplace_back();
      return out;
    }
    for (auto uid : uids) {
      st->reset();
      st->bind(1, folder_id).bind(2, static_cast<int64_t>(uid));
      auto r = st->step();
      if (r == db::step_result::error) return db.error_of("reading message structures");
      if (r != db::step_result::row) {
        out.emplace_back();
        continue;
      }
      take_row();
    }
    return out;
  });
}

base::result<usage> sqlite_mailbox::total_usage() {
  return with_reader([&](db::database& db) -> base::result<usage> {
    auto st = db.prepare("SELECT coalesce(sum(size), 0), count(*) FROM messages");
    if (!st) return st.err();
    if (st->step() != db::step_result::row) return db.error_of("measuring the mailbox");
    return usage{static_cast<uint64_t>(st->int64(0)), static_cast<uint64_t>(st->int64(1))};
  });
}

base::result<usage> sqlite_mailbox::folder_usage(std::string_view folder) {
  std::lock_guard lock(db_mu_);
  auto f = find_folder(folder, false);
  if (!f) return f.err();
  auto st =
      db_.prepare("SELECT coalesce(sum(size), 0), count(*) FROM messages WHERE folder_id = ?");
  if (!st) return st.err();
  st->bind(1, f->id);
  if (st->step() != db::step_result::row) return db_.error_of("measuring the folder");
  return usage{static_cast<uint64_t>(st->int64(0)), static_cast<uint64_t>(st->int64(1))};
}

void sqlite_mailbox::remove_unreferenced(std::span<const uint64_t> blobs, db::sync_mode committed) {
  if (std::all_of(blobs.begin(), blobs.end(), kept_inline)) return;
  std::vector<uint64_t> unused;
  {
    std::lock_guard lock(db_mu_);
    auto st = db_.prepare("SELECT 1 FROM messages WHERE blob = ? LIMIT 1");
    if (!st) return;  // left for `postern mailbox repair`; never a row without its file
    for (auto b : blobs) {
      if (kept_inline(b)) continue;  // went with the rows (drop_unreferenced_inline)
      st->reset();
      st->bind(1, static_cast<int64_t>(b));
      if (st->step() == db::step_result::done) unused.push_back(b);
    }
    forget_indexed(unused);
    if (committed == db::sync_mode::deferred) {
      // Power loss could still undo the expunge: the file must outlive it.
      std::lock_guard pending(unlink_mu_);
      unlink_after_sync_.insert(unlink_after_sync_.end(), unused.begin(), unused.end());
      return;
    }
  }
  for (auto b : unused) ::unlinkat(blobs_fd_, blob_name(b).c_str(), 0);
}

base::status sqlite_mailbox::store_inline(pending_append& p) {
  if (!p.keep_inline) return base::ok_status();
  auto ins = db_.prepare("INSERT INTO inline_blobs(bytes) VALUES(?)");
  if (!ins) return ins.err();
  ins->bind_blob(1, p.inline_bytes);
  if (ins->step() != db::step_result::done) return db_.error_of("storing message bytes");
  p.blob = kept_inline_bit | static_cast<uint64_t>(db_.last_insert_rowid());
  return base::ok_status();
}

base::status sqlite_mailbox::drop_unreferenced_inline(std::span<const uint64_t> blobs) {
  // A COPY shares the row: it goes with the last message that names it.
  auto del = db_.prepare(
      "DELETE FROM inline_blobs WHERE id = ? AND NOT EXISTS"
      " (SELECT 1 FROM messages WHERE blob = ?)");
  if (!del) return del.err();
  for (auto b : blobs) {
    if (!kept_inline(b)) continue;
    del->reset();
    del->bind(1, static_cast<int64_t>(b & ~kept_inline_bit)).bind(2, static_cast<int64_t>(b));
    if (del->step() != db::step_result::done) return db_.error_of("deleting message bytes");
    if (db_.changes() > 0) forget_indexed({&b, 1});
  }
  return base::ok_status();
}

base::result<std::string> sqlite_mailbox::read_kept_blob(uint64_t blob_id, uint32_t uid) {
  // Named only on failure: FETCH calls this for every message it sends.
  auto shown_as = [&] {
    return fmt::format("message UID {} ({}/index.sqlite, inline_blobs row {})", uid, root_,
                       blob_id & ~kept_inline_bit);
  };
  if (!kept_inline(blob_id))
    return base::error{base::errc::invalid_argument, "not a message kept in the index", shown_as()};
  return with_warm_connection([&](db::database& db) -> base::result<std::string> {
    auto st = db.prepare("SELECT bytes FROM inline_blobs WHERE id = ?");
    if (!st) return st.err();
    st->bind(1, static_cast<int64_t>(blob_id & ~kept_inline_bit));
    auto r = st->step();
    if (r == db::step_result::error) return db.error_of("reading " + shown_as());
    if (r != db::step_result::row)
      return base::error{base::errc::not_found,
                         fmt::format("message UID {} was removed by another session", uid),
                         shown_as()};
    return std::string(st->bytes(0));
  });
}

void sqlite_mailbox::unlink_synced() {
  std::lock_guard pending(unlink_mu_);
  for (auto b : unlink_after_sync_) ::unlinkat(blobs_fd_, blob_name(b).c_str(), 0);
  unlink_after_sync_.clear();
}

bool sqlite_mailbox::unlink_pending(uint64_t blob) {
  std::lock_guard pending(unlink_mu_);
  return std::find(unlink_after_sync_.begin(), unlink_after_sync_.end(), blob) !=
         unlink_after_sync_.end();
}

base::status sqlite_mailbox::sync() {
  std::lock_guard lock(db_mu_);
  if (auto s = db_.sync_wal(); !s) return s;
  unlink_synced();
  return base::ok_status();
}

void sqlite_mailbox::flush_unlinks() {
  {
    std::lock_guard pending(unlink_mu_);
    if (unlink_after_sync_.empty()) return;
  }
  // Every commit that dropped these rows is in the WAL (they were listed
  // after it); syncing the WAL makes them durable, and only then may the
  // files go. Under db_mu_, so no commit runs between the sync and the list.
  std::lock_guard lock(db_mu_);
  if (auto s = db_.sync_wal(); !s) return;  // kept for the next try; they only take space
  unlink_synced();
}

namespace {
// Reads the changing columns of a message row.
constexpr const char* meta_columns =
    "uid, size, internal_date, flags, modseq, header_size, dot_lines, blob, save_date, keywords";

message_meta read_meta(db::statement& st, const folder_view& v) {
  message_meta m;
  m.uid = static_cast<uint32_t>(st.int64(0));
  m.size = static_cast<uint64_t>(st.int64(1));
  m.internal_date = st.int64(2);
  m.flags = static_cast<uint32_t>(st.int64(3));
  m.modseq = static_cast<uint64_t>(st.int64(4));
  m.header_size = static_cast<uint64_t>(st.int64(5));
  m.dot_lines = static_cast<uint32_t>(st.int64(6));
  m.blob_id = static_cast<uint64_t>(st.int64(7));
  m.save_date = st.int64(8);
  auto kws = st.text(9);
  if (!kws.empty())
    for (auto& k : base::split(kws, ' ')) {
      int i = v.keyword_index(k);
      if (i >= 0) m.keywords |= uint64_t{1} << i;
    }
  return m;
}
}  // namespace

base::result<std::shared_ptr<folder_view>> sqlite_mailbox::view(std::string_view folder) {
  // A view that lives on must not miss what another process (postern
  // deliver) committed since the watcher's last look: SELECT and STATUS see
  // the index as it is now.
  poll_external_changes();
  std::lock_guard vlock(views_mu_);
  std::lock_guard lock(db_mu_);
  auto f = find_folder(folder, false);
  if (!f) {
    if (f.err().code != base::errc::not_found || folder != "INBOX") return f.err();
    db::transaction txn(db_);
    if (auto s = txn.begin(); !s) return s.err();
    f = find_folder(folder, true);
    if (!f) return f.err();
    if (auto s = txn.commit(); !s) return s.err();
  }
  if (auto it = views_.find(f->id); it != views_.end()) {
    if (!it->second->deleted && it->second->uidvalidity == f->uidvalidity) return it->second;
    views_.erase(it);  // the folder was deleted and its id reused
  }
  auto v = std::make_shared<folder_view>();
  v->folder_id = f->id;
  v->name = f->name;
  v->uidvalidity = f->uidvalidity;
  v->uidnext = f->uidnext;
  v->highestmodseq = f->highestmodseq;
  v->loaded_at_modseq = f->highestmodseq;
  auto kw = db_.prepare("SELECT keywords, recent_uid FROM folders WHERE id = ?");
  if (!kw) return kw.err();
  kw->bind(1, f->id);
  if (kw->step() == db::step_result::row) {
    v->keywords = base::split(kw->text(0), ' ');
    v->recent_uid = static_cast<uint32_t>(kw->int64(1));
  }
  auto st = db_.prepare(
      fmt::format("SELECT {} FROM messages WHERE folder_id = ? ORDER BY uid", meta_columns));
  if (!st) return st.err();
  st->bind(1, f->id);
  v->messages.reserve(f->messages);
  db::step_result r;
  while ((r = st->step()) == db::step_result::row) v->messages.push_back(read_meta(*st, *v));
  if (r == db::step_result::error) return db_.error_of("loading folder");
  views_[f->id] = v;
  return v;
}

bool sqlite_mailbox::no_external_commit_pending() {
  // Without the busy timeout: a lock another process holds (a WAL recovery)
  // fails at once, and the caller goes to the pool, which waits for it.
  db_.set_busy_timeout(0);
  struct restore {
    db::database& db;
    ~restore() { db.set_busy_timeout(db::database::default_busy_timeout_ms); }
  } restored{db_};
  auto st = db_.prepare("PRAGMA data_version");
  if (!st || st->step() != db::step_result::row) return false;
  return static_cast<uint64_t>(st->int64(0)) == data_version_.load();
}

std::optional<std::shared_ptr<folder_view>> sqlite_mailbox::resident_view(std::string_view folder) {
  // Never waits: a lock held by another thread (a commit, a view being
  // loaded) sends the caller to view() on the pool instead.
  {
    std::unique_lock lock(db_mu_, std::try_to_lock);
    if (!lock.owns_lock()) return std::nullopt;
    // As in view(): a commit by another process (postern deliver) must be
    // seen now; it needs the refresh only view() does.
    if (!no_external_commit_pending()) return std::nullopt;
  }
  std::unique_lock vlock(views_mu_, std::try_to_lock);
  if (!vlock.owns_lock()) return std::nullopt;
  for (auto& [id, v] : views_) {
    auto rd = v->reader();  // a rename's refresh writes the name under it
    if (!v->deleted && v->name == folder) return v;
  }
  return std::nullopt;
}

void sqlite_mailbox::refresh_views(std::initializer_list<int64_t> only) {
  std::lock_guard serial(refresh_mu_);
  std::vector<std::shared_ptr<folder_view>> live;
  {
    std::lock_guard vlock(views_mu_);
    for (auto it = views_.begin(); it != views_.end();) {
      if (it->second->deleted) {
        it = views_.erase(it);
        continue;
      }
      if (only.size() == 0 || std::find(only.begin(), only.end(), it->first) != only.end())
        live.push_back(it->second);
      ++it;
    }
  }
  if (live.empty()) return;
  std::lock_guard lock(db_mu_);
  auto fst = db_.prepare(
      "SELECT name, uidvalidity, uidnext, highestmodseq, keywords FROM folders WHERE id = ?");
  auto mst = db_.prepare(fmt::format(
      "SELECT {} FROM messages WHERE folder_id = ? AND modseq > ? ORDER BY uid", meta_columns));
  auto est = db_.prepare(
      "SELECT uid, modseq FROM expunged WHERE folder_id = ? AND modseq > ? ORDER BY modseq");
  if (!fst || !mst || !est) return;  // the next commit or poll tries again
  for (auto& v : live) {
    fst->reset();
    fst->bind(1, v->folder_id);
    auto r = fst->step();
    if (r == db::step_result::error) continue;
    if (r == db::step_result::done || static_cast<uint32_t>(fst->int64(1)) != v->uidvalidity) {
      auto w = v->writer();
      v->deleted = true;  // gone, or its id now names a new folder
      continue;
    }
    uint64_t highest = static_cast<uint64_t>(fst->int64(3));
    std::string name = fst->text(0);
    uint64_t since;
    {
      auto rd = v->reader();
      since = v->highestmodseq;
      if (highest == since && name == v->name) continue;
    }
    folder_view fresh;  // the changed rows, read outside the view's lock
    fresh.keywords = base::split(fst->text(4), ' ');
    fresh.uidnext = static_cast<uint64_t>(fst->int64(2));
    mst->reset();
    mst->bind(1, v->folder_id).bind(2, static_cast<int64_t>(since));
    while (mst->step() == db::step_result::row) fresh.messages.push_back(read_meta(*mst, fresh));
    est->reset();
    est->bind(1, v->folder_id).bind(2, static_cast<int64_t>(since));
    while (est->step() == db::step_result::row)
      fresh.expunged.emplace_back(static_cast<uint32_t>(est->int64(0)),
                                  static_cast<uint64_t>(est->int64(1)));
    auto w = v->writer();
    v->name = std::move(name);
    v->keywords = std::move(fresh.keywords);
    v->uidnext = fresh.uidnext;
    v->highestmodseq = highest;
    for (auto& m : fresh.messages) {
      auto it = std::lower_bound(v->messages.begin(), v->messages.end(), m.uid,
                                 [](const message_meta& a, uint32_t u) { return a.uid < u; });
      if (it != v->messages.end() && it->uid == m.uid)
        *it = m;
      else
        v->messages.insert(it, m);
    }
    if (!fresh.expunged.empty()) {
      std::vector<uint32_t> gone;
      for (auto& e : fresh.expunged) gone.push_back(e.first);
      std::sort(gone.begin(), gone.end());
      std::erase_if(v->messages, [&](const message_meta& m) {
        return std::binary_search(gone.begin(), gone.end(), m.uid);
      });
      v->expunged.insert(v->expunged.end(), fresh.expunged.begin(), fresh.expunged.end());
    }
  }
}

void sqlite_mailbox::patch_view(int64_t folder_id, uint64_t before, uint64_t after,
                                std::span<const flag_patch> changed,
                                std::span<const uint32_t> expunged) {
  {
    std::lock_guard serial(refresh_mu_);
    std::shared_ptr<folder_view> v;
    {
      std::lock_guard vlock(views_mu_);
      auto it = views_.find(folder_id);
      if (it == views_.end()) return;  // no session has it open: nothing to keep current
      if (!it->second->deleted) v = it->second;
    }
    if (v) {
      auto w = v->writer();
      bool applies = v->highestmodseq == before;
      // A keyword the view has no bit for was added to the folder's list by
      // this commit: only the refresh reads the list.
      std::vector<uint64_t> masks;
      for (auto& c : changed) {
        uint64_t mask = 0;
        for (auto& k : c.keywords) {
          int i = v->keyword_index(k);
          if (i < 0) applies = false;
          if (i >= 0) mask |= uint64_t{1} << i;
        }
        masks.push_back(mask);
      }
      if (applies) {
        for (size_t i = 0; i < changed.size(); ++i) {
          auto it = std::lower_bound(v->messages.begin(), v->messages.end(), changed[i].uid,
                                     [](const message_meta& a, uint32_t u) { return a.uid < u; });
          if (it == v->messages.end() || it->uid != changed[i].uid) continue;
          it->flags = changed[i].flags;
          it->keywords = masks[i];
          it->modseq = changed[i].modseq;
        }
        if (!expunged.empty()) {
          std::vector<uint32_t> gone(expunged.begin(), expunged.end());
          std::sort(gone.begin(), gone.end());
          std::erase_if(v->messages, [&](const message_meta& m) {
            return std::binary_search(gone.begin(), gone.end(), m.uid);
          });
          for (auto uid : expunged) v->expunged.emplace_back(uid, after);
        }
        v->highestmodseq = after;
        return;
      }
    }
  }
  refresh_views({folder_id});
}

}  // namespace postern::store
