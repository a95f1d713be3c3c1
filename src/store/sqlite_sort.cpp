// SORT and THREAD keys and PREVIEW texts of a SQLite mailbox (store.hpp):
// read from the columns kept at delivery. Rows stored before index format 8
// have none: their keys are made from the header once and written back, so
// the first SORT of an upgraded folder pays for them and later ones do not.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mime/search_document.hpp"
#include "mime/sort_record.hpp"
#include "store/sqlite_mailbox.hpp"

namespace postern::store {

namespace {
// The first `size` bytes of a message's file (its header).
std::string read_head(mailbox& mb, uint64_t blob, uint32_t uid, uint64_t size) {
  auto fd = mb.open_blob(blob, uid);
  if (!fd) return {};
  std::string out(size, '\0');
  auto n = ::pread(*fd, out.data(), out.size(), 0);
  ::close(*fd);
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}
}  // namespace

void sqlite_mailbox::forget_sort_keys(int64_t folder_id) {
  std::lock_guard lock(sort_mu_);
  sort_cache_.erase(folder_id);
}

base::result<mailbox::sort_table> sqlite_mailbox::sort_records(std::string_view folder) {
  struct missing {
    size_t at;
    uint64_t blob = 0;
    uint64_t header_size = 0;
    std::string subject, from, to, cc, date, message_id, structure;
    std::optional<std::string> header;
  };
  std::vector<sorted_message> fresh;  // rows above what the cache holds
  std::vector<missing> todo;
  int64_t folder_id = 0;
  uint32_t uidvalidity = 0;
  sort_cache cached;
  {
    std::lock_guard lock(db_mu_);
    auto f = find_folder(folder, false);
    if (!f) return f.err();
    folder_id = f->id;
    uidvalidity = f->uidvalidity;
    {
      std::lock_guard keep(sort_mu_);
      auto it = sort_cache_.find(folder_id);
      if (it != sort_cache_.end() && it->second.uidvalidity == uidvalidity) cached = it->second;
    }
    auto st = db_.prepare(
        "SELECT uid, sort_keys FROM messages WHERE folder_id = ? AND uid > ? ORDER BY uid");
    if (!st) return st.err();
    st->bind(1, f->id).bind(2, static_cast<int64_t>(cached.last_uid));
    db::step_result r;
    while ((r = st->step()) == db::step_result::row) {
      sorted_message m;
      m.uid = static_cast<uint32_t>(st->int64(0));
      if (st->is_null(1) || !mime::deserialize(st->bytes(1), m.keys))
        todo.push_back({fresh.size()});
      fresh.push_back(std::move(m));
    }
    if (r == db::step_result::error) return db_.error_of("reading sort keys");
    if (!todo.empty()) {
      auto old = db_.prepare(
          "SELECT blob, header_size, subject, from_addr, to_addr, cc_addr, date_header,"
          " message_id, structure, header FROM messages WHERE folder_id = ? AND uid = ?");
      if (!old) return old.err();
      for (auto& t : todo) {
        old->reset();
        old->bind(1, f->id).bind(2, static_cast<int64_t>(fresh[t.at].uid));
        if (old->step() != db::step_result::row) continue;
        t.blob = static_cast<uint64_t>(old->int64(0));
        t.header_size = static_cast<uint64_t>(old->int64(1));
        t.subject = old->text(2);
        t.from = old->text(3);
        t.to = old->text(4);
        t.cc = old->text(5);
        t.date = old->text(6);
        t.message_id = old->text(7);
        t.structure = old->text(8);
        if (!old->is_null(9)) t.header = std::string(old->bytes(9));
      }
    }
  }
  if (fresh.empty() && cached.rows) return cached.rows;
  // Older rows: from their columns and header (the file's, when not kept).
  for (auto& t : todo) {
    mime::message_structure s;
    if (!mime::deserialize(t.structure, s)) {
      s.subject = t.subject;
      s.from = t.from;
      s.to = t.to;
      s.cc = t.cc;
      s.date = t.date;
      s.message_id = t.message_id;
    }
    std::string header =
        t.header ? *t.header : read_head(*this, t.blob, fresh[t.at].uid, t.header_size);
    fresh[t.at].keys = mime::make_sort_record(s, header);
  }
  if (!todo.empty()) {
    std::lock_guard lock(db_mu_);
    db::transaction txn(db_, db::sync_mode::deferred);
    if (txn.begin()) {
      auto upd = db_.prepare("UPDATE messages SET sort_keys = ? WHERE folder_id = ? AND uid = ?");
      bool ok = static_cast<bool>(upd);
      for (auto& t : todo) {
        if (!ok) break;
        upd->reset();
        upd->bind(1, mime::serialize(fresh[t.at].keys))
            .bind(2, folder_id)
            .bind(3, static_cast<int64_t>(fresh[t.at].uid));
        ok = upd->step() == db::step_result::done;
      }
      if (ok) (void)txn.commit();  // a cache: a failure only costs the next SORT again
    }
  }
  auto rows = std::make_shared<std::vector<sorted_message>>();
  rows->reserve((cached.rows ? cached.rows->size() : 0) + fresh.size());
  if (cached.rows) rows->insert(rows->end(), cached.rows->begin(), cached.rows->end());
  for (auto& m : fresh) rows->push_back(std::move(m));
  sort_cache next{uidvalidity, rows->empty() ? 0 : rows->back().uid, rows};
  {
    std::lock_guard keep(sort_mu_);
    sort_cache_[folder_id] = next;
  }
  return sort_table(std::move(rows));
}

base::result<sort_ranks> sqlite_mailbox::sort_key_ranks(std::string_view folder,
                                                        const sort_table& table, sort_string key) {
  auto k = static_cast<size_t>(key);
  int64_t folder_id = 0;
  {
    std::lock_guard lock(db_mu_);
    auto f = find_folder(folder, false);
    if (!f) return f.err();
    folder_id = f->id;
  }
  {
    std::lock_guard keep(sort_mu_);
    auto it = sort_cache_.find(folder_id);
    if (it != sort_cache_.end() && it->second.rows == table && it->second.ranks[k])
      return it->second.ranks[k];
  }
  // Made outside the locks (a string sort of the folder's keys); two
  // sessions asking at once both make them, and the second keeps its own.
  auto ranks = std::make_shared<const key_ranks>(make_ranks(*table, key));
  std::lock_guard keep(sort_mu_);
  auto it = sort_cache_.find(folder_id);
  if (it != sort_cache_.end() && it->second.rows == table) it->second.ranks[k] = ranks;
  return ranks;
}

base::result<std::vector<std::optional<std::string>>> sqlite_mailbox::previews(
    std::string_view folder, const std::vector<uint32_t>& uids) {
  std::vector<std::optional<std::string>> out(uids.size());
  struct old_row {
    size_t at;
    uint64_t blob;
    uint64_t size;
    std::string structure;
  };
  std::vector<old_row> todo;
  {
    std::lock_guard lock(db_mu_);
    auto f = find_folder(folder, false);
    if (!f) return f.err();
    auto st = db_.prepare(
        "SELECT preview, blob, size, structure FROM messages WHERE folder_id = ? AND uid = ?");
    if (!st) return st.err();
    for (size_t i = 0; i < uids.size(); ++i) {
      st->reset();
      st->bind(1, f->id).bind(2, static_cast<int64_t>(uids[i]));
      if (st->step() != db::step_result::row) continue;
      if (!st->is_null(0)) {
        out[i] = st->text(0);
      } else {
        todo.push_back({i, static_cast<uint64_t>(st->int64(1)), static_cast<uint64_t>(st->int64(2)),
                        st->text(3)});
      }
    }
  }
  // Rows from before format 8: made from the message (a 16 KiB read of its
  // first text part at most), not kept.
  for (auto& t : todo) {
    auto fd = open_blob(t.blob, uids[t.at]);
    if (!fd) {
      out[t.at] = std::string();
      continue;
    }
    // Mapped, not read: only the pages of the part it decodes are touched.
    void* map = t.size ? ::mmap(nullptr, t.size, PROT_READ, MAP_PRIVATE, *fd, 0) : MAP_FAILED;
    ::close(*fd);
    std::string_view bytes =
        map == MAP_FAILED ? std::string_view() : std::string_view(static_cast<char*>(map), t.size);
    mime::message_structure s;
    if (!mime::deserialize(t.structure, s)) s = mime::parse(bytes);
    out[t.at] = mime::preview_of(bytes, s);
    if (map != MAP_FAILED) ::munmap(map, t.size);
  }
  return out;
}

}  // namespace postern::store
