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

// SEARCH=FUZZY (RFC 6203) as this server does it: the distinct runs of three
// characters of a folded needle; a text matches when it holds at least two
// thirds of them (fuzzy_enough), and its relevancy is the share it holds
// (fuzzy_score, 1-100). So a word with a letter dropped or doubled is found,
// a transposition in a short word is not (two of "recieve"'s five trigrams
// are in "receive"), and a needle under three characters has no trigram (it
// is matched exactly).
// A needle of more than max_fuzzy_trigrams distinct trigrams is matched
// exactly instead: each trigram is one index lookup, and a hostile needle of
// 10,000 characters must not cost 10,000 of them.
inline constexpr size_t max_fuzzy_trigrams = 256;
std::vector<std::string> trigrams(std::string_view folded);
bool fuzzy_enough(uint32_t found, uint32_t total);
uint8_t fuzzy_score(uint32_t found, uint32_t total);
// Both for a text in memory: 0 when it does not match.
uint8_t fuzzy_match(std::string_view folded_text, std::string_view folded_needle);
// The same, appended to `out`.
void append_search_folded(std::string_view utf8, std::string& out);

}  // namespace postern::mime
