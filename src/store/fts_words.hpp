// How the full-text index (fts_index.hpp) cuts text into words, and how it
// turns a SEARCH needle into word lookups that keep RFC 9051 §6.4.4's
// substring semantics.
//
// The words are FTS5's own `unicode61` tokenizer's (through fts5_api, so the
// index and the needle can never be cut differently): maximal runs of
// letters, marks, digits and private-use characters; everything else
// separates them. The text is search_fold()ed already, so the tokenizer's
// own case folding changes nothing (a document where it would is not trusted
// to the index: fts_index reads it itself).
//
// A needle holds a message's text as a substring iff each of its words sits
// in one of the text's words: a word with a separator before it in the
// needle starts a text word, one with a separator after it ends one, a word
// with both is a whole text word, and a word with neither (a needle of one
// word) may be anywhere inside one. plan_needle() says which, and whether
// the words alone decide the answer (a needle that is exactly one word) or
// the candidates they give must be checked against the stored text.
//
// Threads: a word_tokenizer belongs to the connection it was made from; use
// it under that connection's lock.
#pragma once

#include <sqlite3.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"

namespace postern::store {

// The tokenizer's arguments, also in the words table's schema.
inline constexpr const char* word_tokenizer_spec =
    "unicode61 remove_diacritics 0 categories 'L* N* Co M*'";

class word_tokenizer {
 public:
  // The unicode61 tokenizer of `db`'s FTS5, with word_tokenizer_spec's options.
  static base::result<std::unique_ptr<word_tokenizer>> open(sqlite3* db);
  ~word_tokenizer();
  word_tokenizer(const word_tokenizer&) = delete;
  word_tokenizer& operator=(const word_tokenizer&) = delete;

  // Calls `fn(word, start, end)` for each word of `text` in order; `word` is
  // what the index keeps (folded by the tokenizer), [start, end) the bytes
  // of `text` it came from.
  using word_fn = std::function<void(std::string_view, size_t, size_t)>;
  void words(std::string_view text, const word_fn& fn);

 private:
  word_tokenizer() = default;
  fts5_tokenizer fns_{};
  Fts5Tokenizer* instance_ = nullptr;
};

// Where a needle's word must sit in a text word.
enum class word_anchor {
  inside,  // anywhere in one word
  start,   // at the start of one (a separator before it in the needle)
  end,     // at the end of one (a separator after it)
  whole,   // a whole word
};

struct needle_word {
  std::string word;
  word_anchor anchor = word_anchor::inside;
};

struct needle_plan {
  std::vector<needle_word> words;
  // The words only narrow the candidates: each must be checked against the
  // stored text. False only for a needle that is one word, as the text has it.
  bool check_text = true;
};

needle_plan plan_needle(word_tokenizer& t, std::string_view folded);

}  // namespace postern::store
