// The full-text index of a SQLite mailbox (fts_index.hpp): the queue kept in
// index.sqlite, the indexing of queued messages, SEARCH's reads and reindex.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

#include "mime/search_document.hpp"
#include "store/sqlite_mailbox.hpp"

namespace postern::store {

namespace {

std::function<void(int64_t)>& index_listener() {
  static std::function<void(int64_t)> listener;
  return listener;
}

// A message's bytes, mapped read-only for the one pass that extracts its text.
struct mapped_blob {
  void* data = MAP_FAILED;
  size_t size = 0;
  ~mapped_blob() {
    if (data != MAP_FAILED) ::munmap(data, size);
  }
  std::string_view bytes() const {
    return data == MAP_FAILED ? std::string_view()
                              : std::string_view(static_cast<char*>(data), size);
  }
};

}  // namespace

void set_index_listener(std::function<void(int64_t)> listener) {
  index_listener() = std::move(listener);
}

base::status sqlite_mailbox::queue_for_index(uint64_t blob) {
  auto st = db_.prepare("INSERT OR IGNORE INTO fts_queue(blob) VALUES(?)");
  if (!st) return st.err();
  st->bind(1, static_cast<int64_t>(blob));
  if (st->step() != db::step_result::done) return db_.error_of("queueing a message for the index");
  return base::ok_status();
}

void sqlite_mailbox::announce_queued() {
  if (auto& listener = index_listener()) listener(user_id_);
}

void sqlite_mailbox::forget_indexed(std::span<const uint64_t> blobs) {
  if (blobs.empty()) return;
  std::lock_guard lock(fts_mu_);
  for (auto b : blobs) fts_gone_.push_back(static_cast<int64_t>(b));
}

base::result<fts_index*> sqlite_mailbox::text_index() {
  fts_index* idx = nullptr;
  bool upgraded = false;
  {
    std::lock_guard lock(fts_mu_);
    if (!fts_) {
      auto opened = fts_index::open(root_ + "/fts.sqlite");
      if (!opened) return opened.err();
      fts_ = std::move(*opened);
      upgraded = fts_->upgraded();
    }
    idx = fts_.get();
  }
  if (upgraded) {
    // An index of an older format was emptied: every message again. (Not
    // under fts_mu_: an expunge holds db_mu_ and then takes fts_mu_.)
    std::lock_guard lock(db_mu_);
    db::transaction txn(db_, db::sync_mode::deferred);
    if (auto s = txn.begin(); !s) return s.err();
    if (auto s =
            db_.exec("INSERT OR IGNORE INTO fts_queue(blob) SELECT DISTINCT blob FROM messages");
        !s)
      return s.err();
    if (auto s = txn.commit(); !s) return s.err();
  }
  if (upgraded) announce_queued();
  return idx;
}

base::result<mailbox::index_progress> sqlite_mailbox::index_queued(size_t max) {
  std::lock_guard run(indexing_mu_);
  auto idx = text_index();
  if (!idx) return idx.err();
  struct job {
    int64_t blob = 0;
    bool present = false;
    uint32_t uid = 0;
    std::string structure;
    uint64_t size = 0;
  };
  std::vector<job> jobs;
  {
    std::lock_guard lock(db_mu_);
    // One message naming each queued file is enough: copies share the file.
    auto st = db_.prepare(
        "SELECT q.blob, m.uid, m.structure, m.size FROM fts_queue q LEFT JOIN messages m"
        " ON m.id = (SELECT id FROM messages WHERE blob = q.blob LIMIT 1) LIMIT ?");
    if (!st) return st.err();
    st->bind(1, static_cast<int64_t>(max));
    db::step_result r;
    while ((r = st->step()) == db::step_result::row) {
      job j;
      j.blob = st->int64(0);
      j.present = !st->is_null(1);
      if (j.present) {
        j.uid = static_cast<uint32_t>(st->int64(1));
        j.structure = st->text(2);
        j.size = static_cast<uint64_t>(st->int64(3));
      }
      jobs.push_back(std::move(j));
    }
    if (r == db::step_result::error) return db_.error_of("reading the index queue");
  }
  // Extraction reads and decodes the files: no lock held.
  std::vector<std::pair<int64_t, mime::search_document>> docs;
  std::vector<int64_t> done;
  for (auto& j : jobs) {
    done.push_back(j.blob);
    if (!j.present) continue;  // expunged since it was queued
    auto fd = open_blob(static_cast<uint64_t>(j.blob), j.uid);
    if (!fd) continue;  // gone meanwhile, or a missing file `mailbox check` reports
    mapped_blob m;
    m.size = static_cast<size_t>(j.size);
    if (m.size) m.data = ::mmap(nullptr, m.size, PROT_READ, MAP_PRIVATE, *fd, 0);
    ::close(*fd);
    if (m.size && m.data == MAP_FAILED) continue;
    mime::message_structure st;
    if (!mime::deserialize(j.structure, st)) st = mime::parse(m.bytes());
    docs.emplace_back(j.blob, mime::make_search_document(m.bytes(), st));
  }
  std::vector<int64_t> gone;
  {
    std::lock_guard lock(fts_mu_);
    gone.swap(fts_gone_);
  }
  if (auto s = (*idx)->put(docs, gone); !s) {
    std::lock_guard lock(fts_mu_);
    fts_gone_.insert(fts_gone_.end(), gone.begin(), gone.end());
    return s.err();
  }
  std::lock_guard lock(db_mu_);
  if (!done.empty()) {
    // After the index committed: a crash in between indexes them again.
    db::transaction txn(db_, db::sync_mode::deferred);
    if (auto s = txn.begin(); !s) return s.err();
    auto del = db_.prepare("DELETE FROM fts_queue WHERE blob = ?");
    if (!del) return del.err();
    for (auto b : done) {
      del->reset();
      del->bind(1, b);
      if (del->step() != db::step_result::done) return db_.error_of("updating the index queue");
    }
    if (auto s = txn.commit(); !s) return s.err();
  }
  auto left = db_.prepare("SELECT count(*) FROM fts_queue");
  if (!left) return left.err();
  if (left->step() != db::step_result::row) return db_.error_of("reading the index queue");
  const auto remaining = static_cast<size_t>(left->int64(0));
  if (remaining == 0) (*idx)->forget_recent_terms();
  return index_progress{docs.size(), remaining};
}

base::result<bool> sqlite_mailbox::tidy_index() {
  auto idx = text_index();
  if (!idx) return idx.err();
  return (*idx)->merge_step();
}

base::result<text_answer> sqlite_mailbox::search_text(std::span<const text_query> queries) {
  auto idx = text_index();
  if (!idx) return idx.err();
  text_answer out;
  {
    // Read before the index: a file not queued now was indexed before now.
    std::lock_guard lock(db_mu_);
    auto st = db_.prepare("SELECT blob FROM fts_queue ORDER BY blob");
    if (!st) return st.err();
    db::step_result r;
    while ((r = st->step()) == db::step_result::row) out.unindexed.push_back(st->int64(0));
    if (r == db::step_result::error) return db_.error_of("reading the index queue");
  }
  if (!out.unindexed.empty()) announce_queued();  // this search reads them itself; next time not
  auto cut = (*idx)->truncated();
  if (!cut) return cut.err();
  if (!cut->empty()) {
    std::vector<int64_t> both;
    std::merge(out.unindexed.begin(), out.unindexed.end(), cut->begin(), cut->end(),
               std::back_inserter(both));
    out.unindexed = std::move(both);
  }
  for (auto& q : queries) {
    if (q.fuzzy) {
      auto scored = (*idx)->match_fuzzy(q.field, q.folded);
      if (!scored) return scored.err();
      out.hits.push_back(std::move(scored->first));
      out.scores.push_back(std::move(scored->second));
      continue;
    }
    auto hits = (*idx)->match(q.field, q.folded);
    if (!hits) return hits.err();
    out.scores.emplace_back(hits->size(), uint8_t{100});
    out.hits.push_back(std::move(*hits));
  }
  return out;
}

base::result<size_t> sqlite_mailbox::reindex(std::string_view folder) {
  std::lock_guard run(indexing_mu_);
  auto idx = text_index();
  if (!idx) return idx.err();
  if (folder.empty())
    if (auto s = (*idx)->clear(); !s) return s.err();
  size_t queued = 0;
  {
    std::lock_guard lock(db_mu_);
    db::transaction txn(db_, db::sync_mode::deferred);
    if (auto s = txn.begin(); !s) return s.err();
    int64_t folder_id = 0;
    if (!folder.empty()) {
      auto f = find_folder(folder, false);
      if (!f) return f.err();
      folder_id = f->id;
    }
    auto st = db_.prepare(folder.empty()
                              ? "INSERT OR IGNORE INTO fts_queue(blob) SELECT blob FROM messages"
                              : "INSERT OR IGNORE INTO fts_queue(blob) SELECT blob FROM messages"
                                " WHERE folder_id = ?");
    if (!st) return st.err();
    if (!folder.empty()) st->bind(1, folder_id);
    if (st->step() != db::step_result::done) return db_.error_of("queueing messages for the index");
    queued = static_cast<size_t>(db_.changes());
    if (auto s = txn.commit(); !s) return s.err();
  }
  announce_queued();
  return queued;
}

void sqlite_mailbox::check_text_index(check_report& rep, bool repair) {
  const std::string path = root_ + "/fts.sqlite";
  auto finding = [&](std::string detail) -> check_finding& {
    rep.findings.push_back({"text index", "", 0, std::move(detail), ""});
    return rep.findings.back();
  };
  auto idx = text_index();
  if (!idx) {
    finding(fmt::format("{} cannot be opened: {}", path, idx.err().message));
    return;
  }
  if (auto s = (*idx)->integrity(); !s) {
    auto& f = finding(fmt::format("{}: {}", path, s.err().message));
    if (repair && (*idx)->rebuild() && (*idx)->integrity())
      f.action = "rebuilt the full-text index from its stored text";
  }
  auto indexed = (*idx)->ids();
  if (!indexed) {
    finding(fmt::format("{} cannot be read: {}", path, indexed.err().message));
    return;
  }
  std::vector<int64_t> files, queued;
  {
    std::lock_guard lock(db_mu_);
    auto read = [&](const char* sql, std::vector<int64_t>& out) {
      auto st = db_.prepare(sql);
      if (!st) return false;
      while (st->step() == db::step_result::row) out.push_back(st->int64(0));
      return true;
    };
    if (!read("SELECT DISTINCT blob FROM messages ORDER BY blob", files) ||
        !read("SELECT blob FROM fts_queue ORDER BY blob", queued))
      return;
  }
  std::vector<int64_t> known, missing, stale;
  std::set_union(indexed->begin(), indexed->end(), queued.begin(), queued.end(),
                 std::back_inserter(known));
  std::set_difference(files.begin(), files.end(), known.begin(), known.end(),
                      std::back_inserter(missing));
  std::set_difference(indexed->begin(), indexed->end(), files.begin(), files.end(),
                      std::back_inserter(stale));
  if (!missing.empty()) {
    auto& f = finding(fmt::format(
        "{} message file(s) are neither in {} nor queued for it: SEARCH reads them itself",
        missing.size(), path));
    if (repair) {
      std::lock_guard lock(db_mu_);
      db::transaction txn(db_, db::sync_mode::deferred);
      bool ok = static_cast<bool>(txn.begin());
      for (auto b : missing)
        if (ok) ok = static_cast<bool>(queue_for_index(static_cast<uint64_t>(b)));
      if (ok && txn.commit()) f.action = fmt::format("queued {} for the indexer", missing.size());
    }
  }
  if (!stale.empty()) {
    auto& f = finding(
        fmt::format("{} entr(ies) in {} name no message (left by a crash)", stale.size(), path));
    if (repair && (*idx)->put({}, stale)) f.action = "removed them";
  }
  if (repair && !missing.empty()) announce_queued();
}

base::result<std::pair<uint64_t, uint64_t>> sqlite_mailbox::index_state() {
  auto idx = text_index();
  if (!idx) return idx.err();
  std::lock_guard lock(db_mu_);
  auto st = db_.prepare("SELECT count(*) FROM fts_queue");
  if (!st) return st.err();
  if (st->step() != db::step_result::row) return db_.error_of("reading the index queue");
  return std::pair<uint64_t, uint64_t>{static_cast<uint64_t>(st->int64(0)), (*idx)->disk_size()};
}

}  // namespace postern::store
