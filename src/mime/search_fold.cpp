// Case folding and accent removal for search (search_fold.hpp).
#include "mime/search_fold.hpp"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uscript.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>
#include <unicode/utf8.h>

#include <algorithm>

#include "mime/text_decode.hpp"

namespace postern::mime {

namespace {

bool drops_marks(UChar32 base) {
  UErrorCode err = U_ZERO_ERROR;
  const UScriptCode script = uscript_getScript(base, &err);
  return U_SUCCESS(err) &&
         (script == USCRIPT_LATIN || script == USCRIPT_GREEK || script == USCRIPT_CYRILLIC);
}

// UTF-16 through an ICU normalizer; false when ICU refuses (no data).
bool normalize(const UNormalizer2* n, const std::u16string& in, std::u16string& out) {
  UErrorCode err = U_ZERO_ERROR;
  int32_t cap = static_cast<int32_t>(in.size() * 3 + 16);
  for (;;) {
    out.resize(static_cast<size_t>(cap));
    err = U_ZERO_ERROR;
    const int32_t len =
        unorm2_normalize(n, in.data(), static_cast<int32_t>(in.size()), out.data(), cap, &err);
    if (err == U_BUFFER_OVERFLOW_ERROR && len > cap) {
      cap = len;
      continue;
    }
    if (U_FAILURE(err)) return false;
    out.resize(static_cast<size_t>(len));
    return true;
  }
}

// Replaces out[from...] (folded, well-formed UTF-8 with non-ASCII in it) by
// the same text without the marks search_fold() drops.
void strip_marks(std::string& out, size_t from) {
  UErrorCode err = U_ZERO_ERROR;
  const UNormalizer2* nfd = unorm2_getNFDInstance(&err);
  const UNormalizer2* nfc = unorm2_getNFCInstance(&err);
  if (U_FAILURE(err)) return;
  const std::string_view text = std::string_view(out).substr(from);
  std::u16string utf16(text.size() + 1, u'\0');
  int32_t len = 0;
  err = U_ZERO_ERROR;
  u_strFromUTF8(utf16.data(), static_cast<int32_t>(utf16.size()), &len, text.data(),
                static_cast<int32_t>(text.size()), &err);
  if (U_FAILURE(err)) return;
  utf16.resize(static_cast<size_t>(len));
  std::u16string decomposed;
  if (!normalize(nfd, utf16, decomposed)) return;
  std::u16string kept;
  kept.reserve(decomposed.size());
  bool after_droppable = false;
  for (size_t i = 0; i < decomposed.size();) {
    UChar32 c;
    U16_NEXT(decomposed.data(), i, decomposed.size(), c);
    if (u_charType(c) == U_NON_SPACING_MARK) {
      if (after_droppable) continue;
    } else {
      after_droppable = drops_marks(c);
    }
    if (c > 0xFFFF) {
      kept.push_back(static_cast<char16_t>(U16_LEAD(c)));
      kept.push_back(static_cast<char16_t>(U16_TRAIL(c)));
    } else {
      kept.push_back(static_cast<char16_t>(c));
    }
  }
  std::u16string composed;
  if (!normalize(nfc, kept, composed)) return;
  std::string utf8(composed.size() * 3 + 1, '\0');
  err = U_ZERO_ERROR;
  u_strToUTF8(utf8.data(), static_cast<int32_t>(utf8.size()), &len, composed.data(),
              static_cast<int32_t>(composed.size()), &err);
  if (U_FAILURE(err)) return;
  utf8.resize(static_cast<size_t>(len));
  out.resize(from);
  out += utf8;
}

}  // namespace

void append_search_folded(std::string_view utf8, std::string& out) {
  const size_t from = out.size();
  append_folded(utf8, out);
  const bool ascii = std::all_of(out.begin() + static_cast<std::ptrdiff_t>(from), out.end(),
                                 [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (!ascii) strip_marks(out, from);
}

std::vector<std::string> trigrams(std::string_view folded) {
  std::vector<size_t> starts;  // offset of each code point
  for (size_t i = 0; i < folded.size(); ++i)
    if ((static_cast<unsigned char>(folded[i]) & 0xC0) != 0x80) starts.push_back(i);
  std::vector<std::string> out;
  for (size_t k = 0; k + 3 <= starts.size(); ++k) {
    size_t end = k + 3 < starts.size() ? starts[k + 3] : folded.size();
    out.emplace_back(folded.substr(starts[k], end - starts[k]));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool fuzzy_enough(uint32_t found, uint32_t total) { return total > 0 && found * 3 >= total * 2; }

uint8_t fuzzy_score(uint32_t found, uint32_t total) {
  if (total == 0) return 100;
  return static_cast<uint8_t>(std::clamp<uint32_t>(found * 100 / total, 1, 100));
}

std::vector<std::string_view> words_of(std::string_view folded) {
  constexpr uint32_t word_mask = U_GC_L_MASK | U_GC_M_MASK | U_GC_N_MASK | U_GC_CO_MASK;
  std::vector<std::string_view> out;
  const auto* p = reinterpret_cast<const uint8_t*>(folded.data());
  const auto n = static_cast<int32_t>(folded.size());
  int32_t i = 0, start = -1;
  while (i < n) {
    const int32_t at = i;
    UChar32 c;
    U8_NEXT(p, i, n, c);
    const bool in_word = c >= 0 && (U_GET_GC_MASK(c) & word_mask) != 0;
    if (in_word && start < 0) start = at;
    if (!in_word && start >= 0) {
      out.push_back(folded.substr(static_cast<size_t>(start), static_cast<size_t>(at - start)));
      start = -1;
    }
  }
  if (start >= 0) out.push_back(folded.substr(static_cast<size_t>(start)));
  return out;
}

uint8_t fuzzy_word_score(std::string_view text_word, std::string_view needle_word,
                         const std::vector<std::string>& grams) {
  if (grams.empty()) return text_word.find(needle_word) != std::string_view::npos ? 100 : 0;
  uint32_t found = 0;
  for (auto& g : grams) found += text_word.find(g) != std::string_view::npos;
  const auto total = static_cast<uint32_t>(grams.size());
  return fuzzy_enough(found, total) ? fuzzy_score(found, total) : 0;
}

uint8_t fuzzy_mean(const std::vector<uint8_t>& word_scores) {
  if (word_scores.empty()) return 0;
  uint32_t sum = 0;
  for (auto s : word_scores) {
    if (s == 0) return 0;
    sum += s;
  }
  return static_cast<uint8_t>(
      std::clamp<uint32_t>(sum / static_cast<uint32_t>(word_scores.size()), 1, 100));
}

uint8_t fuzzy_match(std::string_view text, std::string_view needle) {
  auto words = words_of(needle);
  std::vector<std::vector<std::string>> grams;
  size_t total = 0;
  for (auto w : words) {
    grams.push_back(trigrams(w));
    total += grams.back().size();
  }
  if (words.empty() || total > max_fuzzy_trigrams)
    return text.find(needle) != std::string_view::npos ? 100 : 0;
  std::vector<uint8_t> best(words.size(), 0);
  for (auto tw : words_of(text))
    for (size_t i = 0; i < words.size(); ++i)
      if (best[i] < 100) best[i] = std::max(best[i], fuzzy_word_score(tw, words[i], grams[i]));
  return fuzzy_mean(best);
}

std::string search_fold(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  append_search_folded(utf8, out);
  return out;
}

}  // namespace postern::mime
