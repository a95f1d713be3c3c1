// The index's words and needles planned as word lookups (fts_words.hpp).
#include "store/fts_words.hpp"

#include <gtest/gtest.h>

#include "db/sqlite.hpp"

namespace postern::store {

namespace {

struct words_fixture : ::testing::Test {
  void SetUp() override {
    auto opened = db::database::open(":memory:", false);
    ASSERT_TRUE(opened);
    db = std::make_unique<db::database>(std::move(*opened));
    auto t = word_tokenizer::open(db->handle());
    ASSERT_TRUE(t) << t.err().message;
    tok = std::move(*t);
  }
  void TearDown() override { tok.reset(); }
  std::vector<std::string> words(std::string_view text) {
    std::vector<std::string> out;
    tok->words(text, [&](std::string_view w, size_t start, size_t end) {
      EXPECT_EQ(text.substr(start, end - start), w);  // folded text: unchanged
      out.emplace_back(w);
    });
    return out;
  }
  std::unique_ptr<db::database> db;
  std::unique_ptr<word_tokenizer> tok;
};

std::string describe(const needle_plan& p) {
  std::string out = p.check_text ? "check:" : "words:";
  for (auto& w : p.words) {
    const char* a = w.anchor == word_anchor::inside  ? "*"
                    : w.anchor == word_anchor::start ? "<"
                    : w.anchor == word_anchor::end   ? ">"
                                                     : "=";
    out += ' ';
    out += a;
    out += w.word;
  }
  return out;
}

}  // namespace

TEST_F(words_fixture, WordsAreLettersMarksAndDigitsAsSearchFoldSaysToo) {
  EXPECT_EQ(words("hello, w\u00f6rld_x2 a@b.org"),
            (std::vector<std::string>{"hello", "w\u00f6rld", "x2", "a", "b", "org"}));
  // Devanagari's vowel signs are marks: they stay inside the word.
  EXPECT_EQ(words("\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e"),
            (std::vector<std::string>{"\u0928\u092e\u0938\u094d\u0924\u0947",
                                      "\u0926\u0941\u0928\u093f\u092f\u093e"}));
  // Japanese without spaces is one word; the ideographic full stop separates.
  EXPECT_EQ(words("\u4eca\u65e5\u306f\u3002\u6674\u308c"),
            (std::vector<std::string>{"\u4eca\u65e5\u306f", "\u6674\u308c"}));
  EXPECT_TRUE(words(" -- \x1f ").empty());
}

TEST_F(words_fixture, NeedlesBecomeAnchoredWords) {
  // One word as it is: the vocabulary decides the answer alone.
  EXPECT_EQ(describe(plan_needle(*tok, "port")), "words: *port");
  // A separator before a word starts a text word, after it ends one.
  EXPECT_EQ(describe(plan_needle(*tok, " port")), "check: <port");
  EXPECT_EQ(describe(plan_needle(*tok, "port:")), "check: >port");
  EXPECT_EQ(describe(plan_needle(*tok, "(port)")), "check: =port");
  // Inner words are whole; the first may end a word, the last start one.
  EXPECT_EQ(describe(plan_needle(*tok, "sender@example.org")), "check: >sender =example <org");
  EXPECT_EQ(describe(plan_needle(*tok, "zephyrine quorvalis tambrelle")),
            "check: >zephyrine =quorvalis <tambrelle");
  // Nothing but separators: no word to look up.
  EXPECT_EQ(describe(plan_needle(*tok, " -- ")), "check:");
}

}  // namespace postern::store
