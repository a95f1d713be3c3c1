// FTS5's word tokenizer, and needles planned as word lookups (fts_words.hpp).
#include "store/fts_words.hpp"

namespace postern::store {

namespace {

fts5_api* fts5_of(sqlite3* db) {
  fts5_api* api = nullptr;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, nullptr) != SQLITE_OK) return nullptr;
  sqlite3_bind_pointer(st, 1, static_cast<void*>(&api), "fts5_api_ptr", nullptr);
  sqlite3_step(st);
  sqlite3_finalize(st);
  return api;
}

struct collect_ctx {
  std::string_view text;
  const word_tokenizer::word_fn* fn;
};

int on_token(void* ctx, int /*tflags*/, const char* token, int n, int start, int end) {
  auto* c = static_cast<collect_ctx*>(ctx);
  (*c->fn)(std::string_view(token, static_cast<size_t>(n)), static_cast<size_t>(start),
           static_cast<size_t>(end));
  return SQLITE_OK;
}

}  // namespace

base::result<std::unique_ptr<word_tokenizer>> word_tokenizer::open(sqlite3* db) {
  fts5_api* api = fts5_of(db);
  if (!api)
    return base::error{base::errc::io_error,
                       "the SQLite library has no FTS5 (needed by the full-text index)", ""};
  auto t = std::unique_ptr<word_tokenizer>(new word_tokenizer());
  auto* fns = &t->fns_;
  void* user = nullptr;
  if (api->xFindTokenizer(api, "unicode61", &user, fns) != SQLITE_OK)
    return base::error{base::errc::io_error, "SQLite's FTS5 has no unicode61 tokenizer", ""};
  // The same options as word_tokenizer_spec.
  const char* args[] = {"remove_diacritics", "0", "categories", "L* N* Co M*"};
  Fts5Tokenizer* inst = nullptr;
  if (fns->xCreate(user, args, 4, &inst) != SQLITE_OK || !inst)
    return base::error{base::errc::io_error, "cannot make FTS5's unicode61 tokenizer",
                       word_tokenizer_spec};
  t->instance_ = inst;
  return t;
}

word_tokenizer::~word_tokenizer() {
  if (instance_) fns_.xDelete(instance_);
}

void word_tokenizer::words(std::string_view text, const word_fn& fn) {
  if (text.empty()) return;
  collect_ctx ctx{text, &fn};
  // Texts are bounded by max_indexed_text (4 MiB), far below INT_MAX.
  fns_.xTokenize(instance_, &ctx, FTS5_TOKENIZE_DOCUMENT, text.data(),
                 static_cast<int>(text.size()), on_token);
}

needle_plan plan_needle(word_tokenizer& t, std::string_view folded) {
  struct piece {
    std::string word;
    size_t start, end;
  };
  std::vector<piece> pieces;
  t.words(folded, [&](std::string_view w, size_t s, size_t e) {
    pieces.push_back({std::string(w), s, e});
  });
  needle_plan plan;
  for (size_t i = 0; i < pieces.size(); ++i) {
    const bool sep_before = i > 0 || pieces[i].start > 0;
    const bool sep_after = i + 1 < pieces.size() || pieces[i].end < folded.size();
    word_anchor a = word_anchor::inside;
    if (sep_before && sep_after)
      a = word_anchor::whole;
    else if (sep_before)
      a = word_anchor::start;
    else if (sep_after)
      a = word_anchor::end;
    plan.words.push_back({std::move(pieces[i].word), a});
  }
  plan.check_text = !(plan.words.size() == 1 && plan.words[0].anchor == word_anchor::inside &&
                      plan.words[0].word == folded);
  return plan;
}

}  // namespace postern::store
