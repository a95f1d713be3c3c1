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

#include <string>
#include <string_view>

namespace postern::mime {

std::string search_fold(std::string_view utf8);
// The same, appended to `out`.
void append_search_folded(std::string_view utf8, std::string& out);

}  // namespace postern::mime
