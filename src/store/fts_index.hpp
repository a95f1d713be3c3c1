// A user's full-text index: `fts.sqlite` beside the mailbox's index.sqlite, one
// row per message file (blob id as rowid, so COPY and MOVE cost the index
// nothing), holding the message's search_document (mime/search_document).
//
// Three tables (format 2; an older file is emptied and every message queued
// again, see upgraded()):
// - words: FTS5 over the document's folded fields, cut into words by FTS5's
//   unicode61 tokenizer (fts_words.hpp), detail=column: which messages hold
//   a word in which field. It also keeps the text itself, to check
//   candidates against and to rebuild from.
// - terms + vocab: every distinct word the index has met, and an FTS5
//   trigram index over them, so "the words containing `port`" is a lookup.
// - truncated: messages SEARCH must read itself (text cut at
//   max_indexed_text, or a word the index would not hold as it is).
//
// Matching keeps RFC 9051 §6.4.4's substring semantics exactly: a needle
// that is one word is in a field iff one of the field's words contains it,
// so the answer is the messages holding any word of the vocabulary that
// contains it; a longer needle's words (whole, at the start or end of a
// word) give candidates that are then checked against the stored text.
// Needles whose words the vocabulary cannot narrow (under three characters,
// or in more than max_terms words) are answered by reading the stored text.
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
#include <unordered_set>
#include <utility>
#include <vector>

#include "base/error.hpp"
#include "db/sqlite.hpp"
#include "mime/search_document.hpp"
#include "store/fts_words.hpp"
#include "store/store.hpp"

namespace postern::store {

class fts_index {
 public:
  static base::result<std::unique_ptr<fts_index>> open(const std::string& path);
  ~fts_index();
  // The file held an older format and was emptied: every message must be
  // queued for the index again.
  bool upgraded() const { return upgraded_; }

  // Stores (or replaces) these documents and forgets `gone`, in one transaction.
  base::status put(std::span<const std::pair<int64_t, mime::search_document>> docs,
                   std::span<const int64_t> gone);
  // Blob ids whose `field` contains `folded` (already search_fold()ed, not
  // empty), ascending.
  base::result<std::vector<int64_t>> match(text_field field, std::string_view folded);
  // SEARCH=FUZZY (RFC 6203): blob ids whose `field` matches `folded` as
  // mime::fuzzy_match() says (word by word), ascending, each with its score.
  base::result<std::pair<std::vector<int64_t>, std::vector<uint8_t>>> match_fuzzy(
      text_field field, std::string_view folded);
  // One step of merging the words index's segments into one, once the
  // documents added since the last merge are half of all there are (and at
  // least merge_after): each word lookup then reads one segment instead of a
  // dozen (100,000 messages: 40 µs a word instead of 100). A step writes at
  // most 500 pages and holds the lock only that long. True while there is
  // more to merge.
  static constexpr int64_t merge_after = 1000;
  base::result<bool> merge_step();
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

  // Forgets the words remembered while a burst was indexed (the indexer
  // calls it when the mailbox's queue is empty): memory is held only while
  // a mailbox is being indexed.
  void forget_recent_terms();

  struct word_hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using word_set = std::unordered_set<std::string, word_hash, std::equal_to<>>;

 private:
  explicit fts_index(db::database db) : db_(std::move(db)) {}
  struct impl;
  std::mutex mu_;
  db::database db_;
  std::unique_ptr<word_tokenizer> words_;  // of db_: ends before it
  bool upgraded_ = false;
  // The words of a batch `terms` does not list yet. Those recent_terms_
  // knows are listed; small batches (trickling mail) ask the words index
  // about the rest (a lookup each, 10-100 µs, at most max_index_lookups); large ones (a burst) take
  // them as new, so a word may be listed twice (format 3, fts_index.cpp).
  static constexpr size_t checked_batch = 32;
  base::result<std::vector<std::string>> unlisted_terms(const word_set& batch, bool ask_the_index);

  // Words this object added to `terms` lately, in two generations of up to
  // 65,536 (a few MB): a batch's common words are not listed again, while
  // a rare word's second listing costs little (fts_index.cpp, schema_sql).
  // Only words committed to the file; emptied with `terms`.
  struct recent_terms {
    static constexpr size_t generation = 65536;
    word_set now, before;
    bool contains(std::string_view t);
    void add(std::string t);
    void clear();
  } recent_terms_;
};

}  // namespace postern::store
