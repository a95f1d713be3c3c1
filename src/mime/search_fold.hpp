// The form text takes for IMAP SEARCH and the full-text index: Unicode full case
// folding (text_decode.hpp fold_case), then accents taken off Latin, Greek and
// Cyrillic letters, so "CAFE" finds "café" and "Ελληνικά" finds "ΕΛΛΗΝΙΚΑ".
//
// RFC 9051 §6.4.4 asks for case-insensitive substring matching and points to
// RFC 5051's i;unicode-casemap (folding plus NFKD), under which "cafe" is a
// substring of "café" already; dropping the marks makes it hold both ways, as
// a primary-strength collation does. Marks are dropped only after a letter of
// those three scripts: in Devanagari, Thai, Hebrew or Japanese kana a combining
// mark is part of the spelling, so it stays. The text is NFC after the marks
// go (NFD first, so "é" and "e" + U+0301 end up alike).
//
// Errors: none; ill-formed UTF-8 becomes U+FFFD. Threads: any.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace postern::mime {

std::string search_fold(std::string_view utf8);

// Words as the full-text index cuts text into terms (store/fts_words.hpp):
// maximal runs of letters, marks, digits and private-use characters (Unicode
// general categories L*, M*, N*, Co); everything else separates them.
std::vector<std::string_view> words_of(std::string_view folded);

// SEARCH=FUZZY (RFC 6203) as this server does it, word by word: each word of
// the folded needle (words_of) must be matched by one word of the text. A
// word of three characters or more is matched by a text word holding at
// least two thirds of its distinct trigrams (fuzzy_enough), scoring the share
// it holds (fuzzy_score, 1-100); a shorter word has no trigram and is matched
// by a text word containing it (100). The needle's score is the mean of its
// words' best scores. So a word with a letter dropped or doubled is found, a
// transposition in a short word is not (two of "recieve"'s five trigrams are
// in "receive"), and a needle with no word at all is matched exactly.
// A needle of more than max_fuzzy_trigrams trigrams in all is matched exactly
// instead: each trigram is one index lookup, and a hostile needle of 10,000
// characters must not cost 10,000 of them.
inline constexpr size_t max_fuzzy_trigrams = 256;
std::vector<std::string> trigrams(std::string_view folded);
bool fuzzy_enough(uint32_t found, uint32_t total);
uint8_t fuzzy_score(uint32_t found, uint32_t total);
// The score of one text word against one needle word's trigrams (`grams`
// empty: the word itself, too short for trigrams); 0 when it does not match.
uint8_t fuzzy_word_score(std::string_view text_word, std::string_view needle_word,
                         const std::vector<std::string>& grams);
// The needle's score from its words' best scores (every one above 0).
uint8_t fuzzy_mean(const std::vector<uint8_t>& word_scores);
// All of it for a text in memory: 0 when it does not match.
uint8_t fuzzy_match(std::string_view folded_text, std::string_view folded_needle);
// The same, appended to `out`.
void append_search_folded(std::string_view utf8, std::string& out);

}  // namespace postern::mime
