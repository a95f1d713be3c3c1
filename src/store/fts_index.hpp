// A user's full-text index: `fts.sqlite` beside the mailbox's index.sqlite, one
// SQLite FTS5 row per message file (blob id as rowid, so COPY and MOVE cost the
// index nothing), holding the message's search_document (mime/search_document).
//
// Matching: the trigram tokenizer over text already search_fold()ed, so a
// phrase query of the folded needle finds exactly the rows whose field holds
// it as a substring (RFC 9051 §6.4.4 semantics, not word matching): every
// trigram of the needle at consecutive positions. Needles under three
// characters have no trigram; they are answered with instr() over the stored
// text (a scan, exact all the same).
//
// Durability: the index can always be rebuilt from the mailbox, so it commits
// with synchronous=NORMAL (it survives the process being killed; after power
// loss `postern mailbox check` finds what is missing). Which messages still
// wait for it is recorded in the mailbox's own index (fts_queue), in the
// transaction that stores them, and taken off only after this index committed.
//
// Threads: every method locks; one object per mailbox.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.hpp"
#include "db/sqlite.hpp"
#include "mime/search_document.hpp"
#include "store/store.hpp"

namespace postern::store {

class fts_index {
 public:
  static base::result<std::unique_ptr<fts_index>> open(const std::string& path);

  // Stores (or replaces) these documents and forgets `gone`, in one transaction.
  base::status put(std::span<const std::pair<int64_t, mime::search_document>> docs,
                   std::span<const int64_t> gone);
  // Blob ids whose `field` contains `folded` (already search_fold()ed, not
  // empty), ascending.
  base::result<std::vector<int64_t>> match(text_field field, std::string_view folded);
  // SEARCH=FUZZY (RFC 6203): blob ids whose `field` holds at least two thirds
  // of the distinct trigrams of `folded`, ascending, each with its score (the
  // share of trigrams found, 1-100). A needle under three characters has no
  // trigram: it is matched exactly, with 100.
  base::result<std::pair<std::vector<int64_t>, std::vector<uint8_t>>> match_fuzzy(
      text_field field, std::string_view folded);
  // Blob ids whose text was cut at max_indexed_text: SEARCH reads those itself.
  base::result<std::vector<int64_t>> truncated();
  // Every blob id in the index, ascending (check and repair compare them).
  base::result<std::vector<int64_t>> ids();
  base::status clear();
  // FTS5's own consistency check of its index against the stored text; and
  // rebuilding that index from the text (the repair).
  base::status integrity();
  base::status rebuild();
  // Bytes on disk (the database and its WAL).
  uint64_t disk_size() const;

 private:
  explicit fts_index(db::database db) : db_(std::move(db)) {}
  std::mutex mu_;
  db::database db_;
};

}  // namespace postern::store
