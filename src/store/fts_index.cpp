// The full-text index (fts_index.hpp).
#include "store/fts_index.hpp"

#include <fmt/format.h>
#include <string.h>
#include <sys/stat.h>

#include <algorithm>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "mime/search_fold.hpp"

namespace postern::store {

namespace {

constexpr int format_version = 3;

// A word longer than this is cut by FTS5 (FTS5_MAX_TOKEN_SIZE): a document
// holding one is read by SEARCH itself.
constexpr size_t max_word_bytes = 32768;

// Above this many vocabulary words for one needle word, reading the stored
// text is cheaper than looking each of them up.
constexpr size_t max_terms = 20000;

// A small batch asks the words index about at most this many words it does
// not remember (10-100 µs each); the rest are taken as new. A hostile
// message of 400,000 made-up words then costs 0.4 s, not 40.
constexpr size_t max_index_lookups = 4096;

// Candidates are checked against the text once there are at most this many:
// more word lookups would cost more than the checks.
constexpr size_t few_candidates = 64;

// Needle words looked up for candidates at most (a hostile needle of a
// thousand words costs eight lookups and the checks).
constexpr size_t max_needle_lookups = 8;

// Words are looked up this many to an FTS5 OR query: fewer queries, and
// FTS5's OR, which steps through all its children for every row it returns,
// stays cheap (100,000 messages, the 2,494 words containing "ing", one
// segment: 71 ms 16 to a query, 102 ms one by one, 86 ms 64 to a query).
constexpr size_t or_query_terms = 16;

// The schema. `terms` has no UNIQUE index (format 3): with one, every batch
// of new words (about 14,000 in 256 messages of the bench corpus) dirtied
// nearly every page of that index, so indexing 100,000 messages wrote 27 GB;
// appended instead, a word known already may be listed twice (after a
// restart, or once recent_terms has forgotten it) and the lookups say each
// word once. FTS5 merges a level's segments once 16 of them are there (its default is 4),
// so a message's words are rewritten about half as often while mail
// arrives; merge_step() merges them all when the mailbox is quiet.
std::string schema_sql() {
  return fmt::format(R"sql(
CREATE VIRTUAL TABLE IF NOT EXISTS words USING fts5(
  subject, from_addr, to_addr, cc_addr, bcc_addr, headers, body,
  detail = column, tokenize = "{}");
CREATE TABLE IF NOT EXISTS terms(id INTEGER PRIMARY KEY, term TEXT NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS vocab USING fts5(
  term, content = 'terms', content_rowid = 'id', detail = none,
  tokenize = 'trigram case_sensitive 1');
CREATE TABLE IF NOT EXISTS truncated(blob INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS counts(name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO counts VALUES('documents', 0), ('added since merge', 0);
INSERT INTO words(words, rank) VALUES('automerge', 16);
INSERT INTO words(words, rank) VALUES('crisismerge', 64);
PRAGMA user_version = {};
)sql",
                     word_tokenizer_spec, format_version);
}

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

// The stored columns a field's text is in (TEXT: headers, then body).
const char* text_columns(text_field f) {
  return f == text_field::text ? "headers, body" : column_filter(f);
}

// A quoted FTS5 string is one token or phrase whatever it holds; '"' doubled.
std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

// A GLOB pattern matching `s` literally.
std::string glob_literal(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '?' || c == '[') {
      out += '[';
      out += c;
      out += ']';
    } else {
      out += c;
    }
  }
  return out;
}

size_t code_points(std::string_view s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

bool contains(std::string_view hay, std::string_view needle) {
  return ::memmem(hay.data(), hay.size(), needle.data(), needle.size()) != nullptr;
}

void sort_unique(std::vector<int64_t>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

std::vector<int64_t> intersect(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  std::vector<int64_t> out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

using term_set = fts_index::word_set;

}  // namespace

// The queries, with the connection already locked.
struct fts_index::impl {
  db::database& db;
  word_tokenizer& tok;

  base::error failed(const char* what) const { return db.error_of(what); }

  // Rows of a one-column query binding `arg`, ascending as FTS5 returns them.
  base::status rows(const char* sql, std::string_view arg, std::vector<int64_t>& out) {
    auto st = db.prepare(sql);
    if (!st) return st.err();
    st->bind(1, arg);
    db::step_result r;
    while ((r = st->step()) == db::step_result::row) out.push_back(st->int64(0));
    if (r == db::step_result::error) return failed("searching the text index");
    return base::ok_status();
  }

  // Vocabulary words matching a GLOB pattern (at least three characters of
  // it literal, so the trigram index answers); nullopt past max_terms.
  base::result<std::optional<std::vector<std::string>>> terms_like(const std::string& pattern) {
    // DISTINCT: `terms` may list a word twice (schema_sql).
    auto st = db.prepare("SELECT DISTINCT term FROM vocab WHERE term GLOB ?");
    if (!st) return st.err();
    st->bind(1, pattern);
    std::vector<std::string> out;
    db::step_result r;
    while ((r = st->step()) == db::step_result::row) {
      if (out.size() == max_terms) return std::optional<std::vector<std::string>>();
      out.push_back(st->text(0));
    }
    if (r == db::step_result::error) return failed("searching the text index's vocabulary");
    return std::optional(std::move(out));
  }

  // The vocabulary words a needle word can be part of where it sits; nullopt
  // when the vocabulary cannot say (too short for trigrams, or too many).
  base::result<std::optional<std::vector<std::string>>> terms_for(const needle_word& w) {
    if (code_points(w.word) < 3) return std::optional<std::vector<std::string>>();
    const std::string lit = glob_literal(w.word);
    return terms_like(w.anchor == word_anchor::end ? "*" + lit : "*" + lit + "*");
  }

  // Messages whose `field` holds any of `terms` (exact words), ascending.
  base::result<std::vector<int64_t>> docs_with_any(text_field field,
                                                   const std::vector<std::string>& terms) {
    std::vector<int64_t> out;
    const char* sql = "SELECT rowid FROM words WHERE words MATCH ?";
    for (size_t i = 0; i < terms.size();) {
      const size_t n = std::min(or_query_terms, terms.size() - i);
      std::string q = fmt::format("{} : (", column_filter(field));
      for (size_t k = 0; k < n; ++k) {
        if (k) q += " OR ";
        q += quoted(terms[i + k]);
      }
      q += ')';
      if (auto s = rows(sql, q, out); !s) return s.err();
      i += n;
    }
    sort_unique(out);
    return out;
  }

  // Messages whose `field` has a word starting with `prefix`.
  base::result<std::vector<int64_t>> docs_with_prefix(text_field field, std::string_view prefix) {
    std::vector<int64_t> out;
    auto q = fmt::format("{} : {} *", column_filter(field), quoted(prefix));
    if (auto s = rows("SELECT rowid FROM words WHERE words MATCH ?", q, out); !s) return s.err();
    return out;
  }

  // Whether the message's stored `field` text satisfies `pred`, for each of
  // `ids` (ascending); the ones that do.
  template <class Pred>
  base::result<std::vector<int64_t>> filter_text(text_field field, const std::vector<int64_t>& ids,
                                                 Pred pred) {
    auto st = db.prepare(fmt::format("SELECT {} FROM words WHERE rowid = ?", text_columns(field)));
    if (!st) return st.err();
    std::vector<int64_t> out;
    for (auto id : ids) {
      st->reset();
      st->bind(1, id);
      auto r = st->step();
      if (r == db::step_result::error) return failed("reading the text index");
      if (r != db::step_result::row) continue;
      bool hit = pred(st->bytes(0));
      if (!hit && field == text_field::text) hit = pred(st->bytes(1));
      if (hit) out.push_back(id);
    }
    return out;
  }

  // Every message whose stored text holds `folded`: a read of all of it.
  base::result<std::vector<int64_t>> scan(text_field field, std::string_view folded) {
    std::string sql =
        field == text_field::text
            ? "SELECT rowid FROM words WHERE instr(headers, ?1) > 0 OR instr(body, ?1) > 0"
            : fmt::format("SELECT rowid FROM words WHERE instr({}, ?) > 0", column_filter(field));
    std::vector<int64_t> out;
    if (auto s = rows(sql.c_str(), folded, out); !s) return s.err();
    sort_unique(out);
    return out;
  }

  base::result<std::vector<int64_t>> match(text_field field, std::string_view folded) {
    const needle_plan plan = plan_needle(tok, folded);
    if (!plan.check_text) {
      auto terms = terms_for(plan.words[0]);
      if (!terms) return terms.err();
      if (!*terms) return scan(field, folded);
      return docs_with_any(field, **terms);
    }
    // Candidates from the needle's words, cheapest lookups first: whole
    // words are one term each, starts one prefix query, the rest go through
    // the vocabulary.
    std::vector<const needle_word*> order;
    for (auto& w : plan.words) order.push_back(&w);
    auto cost = [](const needle_word* w) {
      switch (w->anchor) {
        case word_anchor::whole:
          return 0;
        case word_anchor::start:
          return 1;
        default:
          return 2;
      }
    };
    std::stable_sort(order.begin(), order.end(),
                     [&](auto* a, auto* b) { return cost(a) < cost(b); });
    std::optional<std::vector<int64_t>> candidates;
    size_t lookups = 0;
    for (auto* w : order) {
      if (lookups == max_needle_lookups) break;
      if (candidates && candidates->size() <= few_candidates) break;
      std::vector<int64_t> found;
      if (w->anchor == word_anchor::whole) {
        auto d = docs_with_any(field, {w->word});
        if (!d) return d.err();
        found = std::move(*d);
      } else if (w->anchor == word_anchor::start) {
        if (code_points(w->word) < 3) continue;  // too many words begin so
        auto d = docs_with_prefix(field, w->word);
        if (!d) return d.err();
        found = std::move(*d);
      } else {
        auto terms = terms_for(*w);
        if (!terms) return terms.err();
        if (!*terms) continue;
        auto d = docs_with_any(field, **terms);
        if (!d) return d.err();
        found = std::move(*d);
      }
      ++lookups;
      candidates = candidates ? intersect(*candidates, found) : std::move(found);
      if (candidates->empty()) return std::vector<int64_t>();
    }
    if (!candidates) return scan(field, folded);
    return filter_text(field, *candidates,
                       [&](std::string_view text) { return contains(text, folded); });
  }

  // One needle word's fuzzy matches: message -> best score.
  base::result<std::optional<std::unordered_map<int64_t, uint8_t>>> fuzzy_word(
      text_field field, const std::string& word) {
    using answer = std::optional<std::unordered_map<int64_t, uint8_t>>;
    const auto grams = mime::trigrams(word);
    // Vocabulary words and their scores.
    std::vector<std::pair<std::string, uint8_t>> scored;
    if (grams.empty()) {
      auto terms = terms_for({word, word_anchor::inside});
      if (!terms) return terms.err();
      if (!*terms) return answer();
      for (auto& t : **terms) scored.emplace_back(std::move(t), 100);
    } else {
      std::unordered_map<int64_t, uint32_t> held;
      std::vector<int64_t> ids;
      for (auto& g : grams) {
        ids.clear();
        if (auto s = rows("SELECT rowid FROM vocab WHERE vocab MATCH ?", quoted(g), ids); !s)
          return s.err();
        for (auto id : ids) ++held[id];
      }
      const auto total = static_cast<uint32_t>(grams.size());
      std::vector<std::pair<int64_t, uint8_t>> passing;
      for (auto& [id, n] : held)
        if (mime::fuzzy_enough(n, total)) passing.emplace_back(id, mime::fuzzy_score(n, total));
      if (passing.size() > max_terms) return answer();
      auto st = db.prepare("SELECT term FROM terms WHERE id = ?");
      if (!st) return st.err();
      for (auto& [id, score] : passing) {
        st->reset();
        st->bind(1, id);
        if (st->step() == db::step_result::row) scored.emplace_back(st->text(0), score);
      }
    }
    // Best first, so each message keeps its best score; words of one score
    // share a query.
    std::sort(scored.begin(), scored.end(), [](auto& a, auto& b) { return a.second > b.second; });
    {
      // A word listed twice in `terms` (schema_sql) is looked up once.
      term_set seen;
      std::erase_if(scored, [&](auto& t) { return !seen.insert(t.first).second; });
    }
    std::unordered_map<int64_t, uint8_t> out;
    for (size_t i = 0; i < scored.size();) {
      size_t j = i;
      std::vector<std::string> same;
      while (j < scored.size() && scored[j].second == scored[i].second)
        same.push_back(std::move(scored[j++].first));
      auto docs = docs_with_any(field, same);
      if (!docs) return docs.err();
      for (auto id : *docs) out.emplace(id, scored[i].second);
      i = j;
    }
    return answer(std::move(out));
  }

  base::result<std::pair<std::vector<int64_t>, std::vector<uint8_t>>> match_fuzzy(
      text_field field, std::string_view folded) {
    using scored_ids = std::pair<std::vector<int64_t>, std::vector<uint8_t>>;
    const needle_plan plan = plan_needle(tok, folded);
    size_t total = 0;
    for (auto& w : plan.words) total += mime::trigrams(w.word).size();
    if (plan.words.empty() || total > mime::max_fuzzy_trigrams) {
      auto exact = match(field, folded);
      if (!exact) return exact.err();
      std::vector<uint8_t> scores(exact->size(), 100);
      return scored_ids(std::move(*exact), std::move(scores));
    }
    std::vector<std::unordered_map<int64_t, uint8_t>> per_word;
    for (auto& w : plan.words) {
      auto m = fuzzy_word(field, w.word);
      if (!m) return m.err();
      if (!*m) return fuzzy_scan(field, folded);
      per_word.push_back(std::move(**m));
    }
    scored_ids out;
    std::vector<int64_t> ids;
    for (auto& [id, s] : per_word[0]) ids.push_back(id);
    std::sort(ids.begin(), ids.end());
    std::vector<uint8_t> scores(per_word.size());
    for (auto id : ids) {
      bool all = true;
      for (size_t i = 0; i < per_word.size() && all; ++i) {
        auto it = per_word[i].find(id);
        all = it != per_word[i].end();
        if (all) scores[i] = it->second;
      }
      if (!all) continue;
      out.first.push_back(id);
      out.second.push_back(mime::fuzzy_mean(scores));
    }
    return out;
  }

  // FUZZY by reading every message's stored text (the vocabulary could not
  // narrow it down).
  base::result<std::pair<std::vector<int64_t>, std::vector<uint8_t>>> fuzzy_scan(
      text_field field, std::string_view folded) {
    auto st =
        db.prepare(fmt::format("SELECT rowid, {} FROM words ORDER BY rowid", text_columns(field)));
    if (!st) return st.err();
    std::pair<std::vector<int64_t>, std::vector<uint8_t>> out;
    db::step_result r;
    while ((r = st->step()) == db::step_result::row) {
      uint8_t best = mime::fuzzy_match(st->bytes(1), folded);
      if (field == text_field::text) best = std::max(best, mime::fuzzy_match(st->bytes(2), folded));
      if (!best) continue;
      out.first.push_back(st->int64(0));
      out.second.push_back(best);
    }
    if (r == db::step_result::error) return failed("reading the text index");
    return out;
  }
};

base::result<std::unique_ptr<fts_index>> fts_index::open(const std::string& path) {
  auto db = db::database::open(path, true);
  if (!db) return db.err();
  // Indexing writes many pages a batch (FTS5 segments and their merges): a
  // checkpoint (and its fsyncs) every 64 MiB of WAL rather than every 4 MiB
  // keeps those off the deliveries' disk.
  if (auto s = db->exec("PRAGMA cache_size=-8192; PRAGMA wal_autocheckpoint=16384"); !s)
    return s.err();
  auto version = db->prepare("PRAGMA user_version");
  if (!version) return version.err();
  if (version->step() != db::step_result::row)
    return db->error_of("reading the text index's format");
  const int64_t found = version->int64(0);
  version->reset();
  bool upgraded = false;
  if (found == 2) {
    // Format 2 differs only in the UNIQUE index on `terms`: the table is
    // copied without it (ids kept, so `vocab` stays valid), nothing indexed
    // again.
    db::transaction txn(*db, db::sync_mode::deferred);
    if (auto s = txn.begin(); !s) return s.err();
    if (auto s = db->exec("CREATE TABLE terms_v3(id INTEGER PRIMARY KEY, term TEXT NOT NULL);"
                          " INSERT INTO terms_v3(id, term) SELECT id, term FROM terms;"
                          " DROP TABLE terms; ALTER TABLE terms_v3 RENAME TO terms;"
                          " PRAGMA user_version = 3;");
        !s)
      return s.err();
    if (auto s = txn.commit(); !s) return s.err();
  } else if (found != format_version) {
    // Format 1 (or a file from a newer version): its tables go, and every
    // message is indexed again (the caller queues them).
    auto old = db->prepare(
        "SELECT count(*) FROM sqlite_master WHERE name IN ('docs', 'words', 'truncated')");
    if (!old) return old.err();
    if (old->step() != db::step_result::row) return db->error_of("reading the text index");
    upgraded = old->int64(0) > 0;
    old->reset();
    if (upgraded) {
      if (auto s = db->exec(
              "DROP TABLE IF EXISTS docs; DROP TABLE IF EXISTS words; DROP TABLE IF EXISTS vocab;"
              " DROP TABLE IF EXISTS terms; DROP TABLE IF EXISTS truncated; VACUUM");
          !s)
        return s.err();
    }
  }
  if (auto s = db->exec(schema_sql()); !s) return s.err();
  auto tok = word_tokenizer::open(db->handle());
  if (!tok) return tok.err();
  auto idx = std::unique_ptr<fts_index>(new fts_index(std::move(*db)));
  idx->words_ = std::move(*tok);
  idx->upgraded_ = upgraded;
  return idx;
}

fts_index::~fts_index() { words_.reset(); }

bool fts_index::recent_terms::contains(std::string_view t) {
  if (now.find(t) != now.end()) return true;
  if (before.find(t) == before.end()) return false;
  add(std::string(t));  // still in use: kept another generation
  return true;
}

void fts_index::recent_terms::add(std::string t) {
  if (now.size() >= generation) {
    before = std::move(now);
    now.clear();
  }
  now.insert(std::move(t));
}

void fts_index::recent_terms::clear() {
  now.clear();
  before.clear();
}

base::status fts_index::put(std::span<const std::pair<int64_t, mime::search_document>> docs,
                            std::span<const int64_t> gone) {
  std::lock_guard lock(mu_);
  db::transaction txn(db_, db::sync_mode::deferred);
  if (auto s = txn.begin(); !s) return s;
  auto del = db_.prepare("DELETE FROM words WHERE rowid = ?");
  auto del_cut = db_.prepare("DELETE FROM truncated WHERE blob = ?");
  auto ins = db_.prepare(
      "INSERT INTO words(rowid, subject, from_addr, to_addr, cc_addr, bcc_addr, headers, body)"
      " VALUES(?, ?, ?, ?, ?, ?, ?, ?)");
  auto cut = db_.prepare("INSERT OR IGNORE INTO truncated(blob) VALUES(?)");
  if (!del) return del.err();
  if (!del_cut) return del_cut.err();
  if (!ins) return ins.err();
  if (!cut) return cut.err();
  int64_t removed = 0;
  auto remove = [&](int64_t id) -> base::status {
    del->reset();
    del->bind(1, id);
    if (del->step() != db::step_result::done) return db_.error_of("removing from the text index");
    removed += db_.changes();
    del_cut->reset();
    del_cut->bind(1, id);
    if (del_cut->step() != db::step_result::done)
      return db_.error_of("removing from the text index");
    return base::ok_status();
  };
  for (auto id : gone)
    if (auto s = remove(id); !s) return s;
  // The documents' words first: which of them `terms` must learn is asked
  // of the words index as it was before this batch.
  term_set batch_terms;
  std::vector<char> trusted(docs.size(), 1);
  for (size_t i = 0; i < docs.size(); ++i) {
    auto& d = docs[i].second;
    // A word FTS5 would cut, or one its tokenizer changed (the text is
    // folded already, so it should not), would make the words' answer
    // inexact: SEARCH reads that message.
    if (d.truncated) trusted[i] = 0;
    for (const std::string* field :
         {&d.subject, &d.from, &d.to, &d.cc, &d.bcc, &d.headers, &d.body})
      words_->words(*field, [&](std::string_view w, size_t start, size_t end) {
        if (w.size() >= max_word_bytes || std::string_view(*field).substr(start, end - start) != w)
          trusted[i] = 0;
        if (batch_terms.find(w) == batch_terms.end()) batch_terms.emplace(w);
      });
  }
  auto new_terms = unlisted_terms(batch_terms, docs.size() < checked_batch);
  if (!new_terms) return new_terms.err();
  for (size_t i = 0; i < docs.size(); ++i) {
    const auto& [id, d] = docs[i];
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
    if (!trusted[i]) {
      cut->reset();
      cut->bind(1, id);
      if (cut->step() != db::step_result::done) return db_.error_of("adding to the text index");
    }
  }
  auto count = db_.prepare("UPDATE counts SET value = value + ? WHERE name = ?");
  if (!count) return count.err();
  const auto added = static_cast<int64_t>(docs.size());
  for (auto [name, delta] : {std::pair<const char*, int64_t>{"documents", added - removed},
                             {"added since merge", added}}) {
    count->reset();
    count->bind(1, delta).bind(2, name);
    if (count->step() != db::step_result::done) return db_.error_of("counting the text index");
  }
  auto add_term = db_.prepare("INSERT INTO terms(term) VALUES(?)");
  auto add_vocab = db_.prepare("INSERT INTO vocab(rowid, term) VALUES(?, ?)");
  if (!add_term) return add_term.err();
  if (!add_vocab) return add_vocab.err();
  for (auto& t : *new_terms) {
    add_term->reset();
    add_term->bind(1, t);
    if (add_term->step() != db::step_result::done)
      return db_.error_of("adding to the text index's vocabulary");
    add_vocab->reset();
    add_vocab->bind(1, db_.last_insert_rowid()).bind(2, t);
    if (add_vocab->step() != db::step_result::done)
      return db_.error_of("adding to the text index's vocabulary");
  }
  if (auto s = txn.commit(); !s) return s;
  // Only once they are in the file: a word remembered but rolled back
  // would never be listed.
  for (auto& t : *new_terms) recent_terms_.add(std::move(t));
  return base::ok_status();
}

base::result<std::vector<std::string>> fts_index::unlisted_terms(const word_set& batch,
                                                                 bool ask_the_index) {
  std::vector<std::string> out;
  std::optional<db::statement> known;
  if (ask_the_index) {
    auto st = db_.prepare("SELECT 1 FROM words WHERE words MATCH ? LIMIT 1");
    if (!st) return st.err();
    known.emplace(std::move(*st));
  }
  size_t lookups = 0;
  for (auto& t : batch) {
    if (recent_terms_.contains(t)) continue;
    if (known && lookups++ < max_index_lookups) {
      // Every word of `words` is in `terms` (put() adds both in one
      // transaction; rebuild() lists the words' own vocabulary).
      known->reset();
      known->bind(1, quoted(t));
      auto r = known->step();
      if (r == db::step_result::error) return db_.error_of("reading the text index's vocabulary");
      if (r == db::step_result::row) {
        recent_terms_.add(t);
        continue;
      }
    }
    out.push_back(t);
  }
  return out;
}

void fts_index::forget_recent_terms() {
  std::lock_guard lock(mu_);
  recent_terms_.clear();
}

base::result<bool> fts_index::merge_step() {
  std::lock_guard lock(mu_);
  auto read = db_.prepare(
      "SELECT (SELECT value FROM counts WHERE name = 'documents'),"
      " (SELECT value FROM counts WHERE name = 'added since merge')");
  if (!read) return read.err();
  if (read->step() != db::step_result::row) return db_.error_of("counting the text index");
  const int64_t documents = read->int64(0), added = read->int64(1);
  read->reset();
  if (added < std::max(merge_after, documents / 2)) return false;
  db::transaction txn(db_, db::sync_mode::deferred);
  if (auto s = txn.begin(); !s) return s.err();
  // A negative page count merges segments of any level (FTS5 'merge'). The
  // command is one change itself; FTS5 says it did work when the total
  // changes moved by two or more.
  const int before = sqlite3_total_changes(db_.handle());
  if (auto s = db_.exec("INSERT INTO words(words, rank) VALUES('merge', -500)"); !s) return s.err();
  const bool worked = sqlite3_total_changes(db_.handle()) - before >= 2;
  if (!worked)
    if (auto s = db_.exec("UPDATE counts SET value = 0 WHERE name = 'added since merge'"); !s)
      return s.err();
  if (auto s = txn.commit(); !s) return s.err();
  return worked;
}

base::result<std::vector<int64_t>> fts_index::match(text_field field, std::string_view folded) {
  std::lock_guard lock(mu_);
  impl q{db_, *words_};
  return q.match(field, folded);
}

base::result<std::pair<std::vector<int64_t>, std::vector<uint8_t>>> fts_index::match_fuzzy(
    text_field field, std::string_view folded) {
  std::lock_guard lock(mu_);
  impl q{db_, *words_};
  return q.match_fuzzy(field, folded);
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
  return read_ids(db_, "SELECT rowid FROM words ORDER BY rowid");
}

base::status fts_index::clear() {
  std::lock_guard lock(mu_);
  db::transaction txn(db_, db::sync_mode::deferred);
  if (auto s = txn.begin(); !s) return s;
  recent_terms_.clear();
  if (auto s = db_.exec("DELETE FROM words; DELETE FROM truncated; DELETE FROM terms;"
                        " UPDATE counts SET value = 0;"
                        " INSERT INTO vocab(vocab) VALUES('delete-all');");
      !s)
    return s;
  return txn.commit();
}

base::status fts_index::integrity() {
  std::lock_guard lock(mu_);
  if (auto s = db_.exec("INSERT INTO words(words, rank) VALUES('integrity-check', 1)"); !s)
    return s;
  return db_.exec("INSERT INTO vocab(vocab, rank) VALUES('integrity-check', 1)");
}

base::status fts_index::rebuild() {
  std::lock_guard lock(mu_);
  db::transaction txn(db_, db::sync_mode::deferred);
  if (auto s = txn.begin(); !s) return s;
  // The words from the stored text, then the vocabulary from the words.
  recent_terms_.clear();
  if (auto s = db_.exec(
          "INSERT INTO words(words) VALUES('rebuild');"
          " CREATE VIRTUAL TABLE IF NOT EXISTS temp.word_list USING fts5vocab(main, words, row);"
          " DELETE FROM terms; INSERT INTO terms(term) SELECT term FROM temp.word_list;"
          " INSERT INTO vocab(vocab) VALUES('rebuild');");
      !s)
    return s;
  return txn.commit();
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
