// The full-text index (fts_index.hpp).
#include "store/fts_index.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <unordered_map>

#include "mime/search_fold.hpp"

namespace postern::store {

namespace {

// case_sensitive 1: the text is folded already, the tokenizer need not fold
// it again (and its ASCII-only folding would be wrong for the rest).
constexpr const char* schema_sql = R"sql(
CREATE VIRTUAL TABLE IF NOT EXISTS docs USING fts5(
  subject, from_addr, to_addr, cc_addr, bcc_addr, headers, body,
  tokenize = 'trigram case_sensitive 1');
CREATE TABLE IF NOT EXISTS truncated(blob INTEGER PRIMARY KEY);
)sql";

const char* column_filter(text_field f) {
  switch (f) {
    case text_field::subject:
      return "subject";
    case text_field::from:
      return "from_addr";
    case text_field::to:
      return "to_addr";
    case text_field::cc:
      return "cc_addr";
    case text_field::bcc:
      return "bcc_addr";
    case text_field::headers:
      return "headers";
    case text_field::body:
      return "body";
    case text_field::text:
      return "{headers body}";
  }
  return "body";
}

std::string phrase_query(text_field field, std::string_view folded) {
  // A quoted FTS5 string is one phrase whatever it holds; '"' is doubled.
  std::string phrase = "\"";
  for (char c : folded) {
    if (c == '"') phrase += '"';
    phrase += c;
  }
  phrase += '"';
  return fmt::format("{} : {}", column_filter(field), phrase);
}

size_t code_points(std::string_view s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

}  // namespace

base::result<std::unique_ptr<fts_index>> fts_index::open(const std::string& path) {
  auto db = db::database::open(path, true);
  if (!db) return db.err();
  // Indexing writes about a hundred pages a message (FTS5 segments and their
  // merges): a checkpoint (and its fsyncs) every 64 MiB of WAL rather than
  // every 4 MiB keeps those off the deliveries' disk.
  if (auto s = db->exec("PRAGMA cache_size=-8192; PRAGMA wal_autocheckpoint=16384"); !s)
    return s.err();
  if (auto s = db->exec(schema_sql); !s) return s.err();
  return std::unique_ptr<fts_index>(new fts_index(std::move(*db)));
}

base::status fts_index::put(std::span<const std::pair<int64_t, mime::search_document>> docs,
                            std::span<const int64_t> gone) {
  std::lock_guard lock(mu_);
  db::transaction txn(db_, db::sync_mode::deferred);
  if (auto s = txn.begin(); !s) return s;
  auto del = db_.prepare("DELETE FROM docs WHERE rowid = ?");
  auto del_cut = db_.prepare("DELETE FROM truncated WHERE blob = ?");
  auto ins = db_.prepare(
      "INSERT INTO docs(rowid, subject, from_addr, to_addr, cc_addr, bcc_addr, headers, body)"
      " VALUES(?, ?, ?, ?, ?, ?, ?, ?)");
  auto cut = db_.prepare("INSERT OR IGNORE INTO truncated(blob) VALUES(?)");
  if (!del) return del.err();
  if (!del_cut) return del_cut.err();
  if (!ins) return ins.err();
  if (!cut) return cut.err();
  auto remove = [&](int64_t id) -> base::status {
    del->reset();
    del->bind(1, id);
    if (del->step() != db::step_result::done) return db_.error_of("removing from the text index");
    del_cut->reset();
    del_cut->bind(1, id);
    if (del_cut->step() != db::step_result::done)
      return db_.error_of("removing from the text index");
    return base::ok_status();
  };
  for (auto id : gone)
    if (auto s = remove(id); !s) return s;
  for (auto& [id, d] : docs) {
    // FTS5 has no upsert: a document indexed again replaces the old one.
    if (auto s = remove(id); !s) return s;
    ins->reset();
    ins->bind(1, id)
        .bind(2, d.subject)
        .bind(3, d.from)
        .bind(4, d.to)
        .bind(5, d.cc)
        .bind(6, d.bcc)
        .bind(7, d.headers)
        .bind(8, d.body);
    if (ins->step() != db::step_result::done) return db_.error_of("adding to the text index");
    if (d.truncated) {
      cut->reset();
      cut->bind(1, id);
      if (cut->step() != db::step_result::done) return db_.error_of("adding to the text index");
    }
  }
  return txn.commit();
}

base::result<std::vector<int64_t>> fts_index::match(text_field field, std::string_view folded) {
  std::lock_guard lock(mu_);
  std::string sql;
  std::string arg(folded);
  if (code_points(folded) >= 3) {
    arg = phrase_query(field, folded);
    sql = "SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY rowid";
  } else if (field == text_field::text) {
    sql =
        "SELECT rowid FROM docs WHERE instr(headers, ?1) > 0 OR instr(body, ?1) > 0"
        " ORDER BY rowid";
  } else {
    sql = fmt::format("SELECT rowid FROM docs WHERE instr({}, ?) > 0 ORDER BY rowid",
                      column_filter(field));
  }
  auto st = db_.prepare(sql);
  if (!st) return st.err();
  st->bind(1, arg);
  std::vector<int64_t> out;
  db::step_result r;
  while ((r = st->step()) == db::step_result::row) out.push_back(st->int64(0));
  if (r == db::step_result::error) return db_.error_of("searching the text index");
  return out;
}

base::result<std::pair<std::vector<int64_t>, std::vector<uint8_t>>> fts_index::match_fuzzy(
    text_field field, std::string_view folded) {
  auto grams = mime::trigrams(folded);
  if (grams.empty() || grams.size() > mime::max_fuzzy_trigrams) {
    auto exact = match(field, folded);
    if (!exact) return exact.err();
    std::vector<uint8_t> scores(exact->size(), 100);
    return std::make_pair(std::move(*exact), std::move(scores));
  }
  std::unordered_map<int64_t, uint32_t> found;
  {
    std::lock_guard lock(mu_);
    auto st = db_.prepare("SELECT rowid FROM docs WHERE docs MATCH ?");
    if (!st) return st.err();
    for (auto& g : grams) {
      st->reset();
      st->bind(1, phrase_query(field, g));
      db::step_result r;
      while ((r = st->step()) == db::step_result::row) ++found[st->int64(0)];
      if (r == db::step_result::error) return db_.error_of("searching the text index");
    }
  }
  const uint32_t total = static_cast<uint32_t>(grams.size());
  std::vector<std::pair<int64_t, uint8_t>> hits;
  for (auto& [id, n] : found)
    if (mime::fuzzy_enough(n, total)) hits.emplace_back(id, mime::fuzzy_score(n, total));
  std::sort(hits.begin(), hits.end());
  std::pair<std::vector<int64_t>, std::vector<uint8_t>> out;
  for (auto& [id, score] : hits) {
    out.first.push_back(id);
    out.second.push_back(score);
  }
  return out;
}

namespace {
base::result<std::vector<int64_t>> read_ids(db::database& db, const char* sql) {
  auto st = db.prepare(sql);
  if (!st) return st.err();
  std::vector<int64_t> out;
  db::step_result r;
  while ((r = st->step()) == db::step_result::row) out.push_back(st->int64(0));
  if (r == db::step_result::error) return db.error_of("reading the text index");
  return out;
}
}  // namespace

base::result<std::vector<int64_t>> fts_index::truncated() {
  std::lock_guard lock(mu_);
  return read_ids(db_, "SELECT blob FROM truncated ORDER BY blob");
}

base::result<std::vector<int64_t>> fts_index::ids() {
  std::lock_guard lock(mu_);
  return read_ids(db_, "SELECT rowid FROM docs ORDER BY rowid");
}

base::status fts_index::clear() {
  std::lock_guard lock(mu_);
  db::transaction txn(db_, db::sync_mode::deferred);
  if (auto s = txn.begin(); !s) return s;
  if (auto s = db_.exec("DELETE FROM docs; DELETE FROM truncated;"); !s) return s;
  return txn.commit();
}

base::status fts_index::integrity() {
  std::lock_guard lock(mu_);
  return db_.exec("INSERT INTO docs(docs, rank) VALUES('integrity-check', 1)");
}

base::status fts_index::rebuild() {
  std::lock_guard lock(mu_);
  return db_.exec("INSERT INTO docs(docs) VALUES('rebuild')");
}

uint64_t fts_index::disk_size() const {
  uint64_t total = 0;
  for (auto suffix : {"", "-wal"}) {
    struct stat st {};
    if (::stat((db_.path() + suffix).c_str(), &st) == 0) total += static_cast<uint64_t>(st.st_size);
  }
  return total;
}

}  // namespace postern::store
