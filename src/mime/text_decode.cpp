// Charsets to UTF-8 and case folding (text_decode.hpp). RFC 2047 words are in
// encoded_words.cpp.
//
// UTF-8, Windows-1252 (and so ISO-8859-1 and US-ASCII) are decoded here, not by
// ICU: they are most mail, they need the lenient rules of the header, and ICU's
// windows-1252 table leaves 0x81, 0x8D, 0x8F, 0x90 and 0x9D unmapped where WHATWG
// maps them to the C1 controls. Everything else goes through ucnv.
#include "mime/text_decode.hpp"

#include <unicode/ucasemap.h>
#include <unicode/ucnv.h>
#include <unicode/ucnv_cb.h>
#include <unicode/utf16.h>

#include <algorithm>
#include <array>
#include <vector>

#include "base/strings.hpp"

namespace postern::mime {
namespace {

constexpr std::string_view replacement = "\xEF\xBF\xBD";  // U+FFFD

// Windows-1252 0x80..0x9F (WHATWG index); 0xA0..0xFF are the same as Unicode.
constexpr std::array<char16_t, 32> cp1252_high = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};

void append_code_point(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

void append_cp1252(std::string& out, unsigned char c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0xA0) {
    append_code_point(out, cp1252_high[c - 0x80]);
  } else {
    append_code_point(out, c);
  }
}

// What starts at s[0..n): a well-formed UTF-8 sequence (Unicode Table 3-7) of
// `length` bytes, an ill-formed one whose maximal subpart is `length` bytes
// (Unicode §3.9, U+FFFD substitution), or a well-formed prefix cut by the end.
enum class seq_status { valid, invalid, truncated };
struct seq {
  seq_status status;
  size_t length;
};

seq utf8_seq(const unsigned char* s, size_t n) {
  const unsigned char c = s[0];
  if (c < 0x80) return {seq_status::valid, 1};
  size_t need;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    need = 1;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 2;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 3;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return {seq_status::invalid, 1};
  }
  for (size_t k = 1; k <= need; ++k) {
    if (k >= n) return {seq_status::truncated, k};
    const unsigned char b = s[k];
    if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return {seq_status::invalid, k};
  }
  return {seq_status::valid, need + 1};
}

// Appends the UTF-8 read from `in`: well-formed sequences as they are, the rest
// as U+FFFD (or, with `as_1252`, its first byte as Windows-1252). Returns the
// bytes consumed: all of them, unless !last and `in` ends in a cut sequence.
size_t decode_utf8(std::string_view in, std::string& out, bool as_1252, bool last) {
  const auto* s = reinterpret_cast<const unsigned char*>(in.data());
  const size_t n = in.size();
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    while (j < n && s[j] < 0x80) ++j;
    out.append(in.data() + i, j - i);
    i = j;
    if (i == n) break;
    const seq q = utf8_seq(s + i, n - i);
    if (q.status == seq_status::valid) {
      out.append(in.data() + i, q.length);
      i += q.length;
      continue;
    }
    if (q.status == seq_status::truncated && !last) break;
    if (as_1252) {
      append_cp1252(out, s[i]);
      ++i;
    } else {
      out += replacement;
      i += q.length;
    }
  }
  return i;
}

void append_utf16(const char16_t* s, size_t n, std::string& out) {
  for (size_t i = 0; i < n; ++i) {
    uint32_t c = s[i];
    if (U16_IS_LEAD(c) && i + 1 < n && U16_IS_TRAIL(s[i + 1])) {
      c = U16_GET_SUPPLEMENTARY(c, s[i + 1]);
      ++i;
    } else if (U16_IS_SURROGATE(c)) {
      c = 0xFFFD;
    }
    append_code_point(out, c);
  }
}

// ICU's own substitution writes U+001A for converters whose substitution byte
// is 0x1A; a searcher wants U+FFFD everywhere.
void to_u_replacement(const void*, UConverterToUnicodeArgs* args, const char*, int32_t,
                      UConverterCallbackReason reason, UErrorCode* err) {
  if (reason > UCNV_IRREGULAR) return;  // reset, close, clone
  static const UChar fffd = 0xFFFD;
  *err = U_ZERO_ERROR;
  ucnv_cbToUWriteUChars(args, &fffd, 1, 0, err);
}

// Idle converters of this thread, and names ICU did not know (opening an
// unknown name may look for a data file each time).
class converter_cache {
 public:
  converter_cache() = default;
  converter_cache(const converter_cache&) = delete;
  converter_cache& operator=(const converter_cache&) = delete;
  ~converter_cache() {
    for (auto& e : idle_) ucnv_close(e.cnv);
  }

  UConverter* take(const std::string& name) {
    for (size_t i = idle_.size(); i-- > 0;) {
      if (idle_[i].name == name) {
        UConverter* c = idle_[i].cnv;
        idle_.erase(idle_.begin() + static_cast<ptrdiff_t>(i));
        return c;
      }
    }
    if (std::find(unknown_.begin(), unknown_.end(), name) != unknown_.end()) return nullptr;
    UErrorCode err = U_ZERO_ERROR;
    UConverter* c = ucnv_open(name.c_str(), &err);
    if (U_SUCCESS(err) && c != nullptr) {
      ucnv_setToUCallBack(c, to_u_replacement, nullptr, nullptr, nullptr, &err);
      if (U_SUCCESS(err)) return c;
    }
    if (c != nullptr) ucnv_close(c);
    if (unknown_.size() >= max_unknown) unknown_.erase(unknown_.begin());
    unknown_.push_back(name);
    return nullptr;
  }

  void give_back(std::string name, UConverter* c) {
    ucnv_reset(c);
    if (idle_.size() >= max_idle) {
      ucnv_close(idle_.front().cnv);
      idle_.erase(idle_.begin());
    }
    idle_.push_back({std::move(name), c});
  }

 private:
  static constexpr size_t max_idle = 16;
  static constexpr size_t max_unknown = 64;
  struct entry {
    std::string name;
    UConverter* cnv;
  };
  std::vector<entry> idle_;
  std::vector<std::string> unknown_;
};

converter_cache& thread_cache() {
  thread_local converter_cache cache;
  return cache;
}

bool is_charset_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
         c == ':' || c == '+' || c == '(' || c == ')';
}

// The charset names mail uses that are not what ICU's table has in mind.
// WHATWG Encoding §4.2 gives the supersets that mail readers use too.
std::string_view icu_alias(std::string_view name) {
  static constexpr std::pair<std::string_view, std::string_view> aliases[] = {
      {"gb2312", "gb18030"},          {"gbk", "gb18030"},
      {"x-gbk", "gb18030"},           {"cp936", "gb18030"},
      {"euc-cn", "gb18030"},          {"ks_c_5601-1987", "windows-949"},
      {"euc-kr", "windows-949"},      {"ks_c_5601", "windows-949"},
      {"shift_jis", "windows-31j"},   {"shift-jis", "windows-31j"},
      {"sjis", "windows-31j"},        {"x-sjis", "windows-31j"},
      {"ms_kanji", "windows-31j"},    {"iso-8859-8-i", "iso-8859-8"},
      {"tis-620", "windows-874"},     {"iso-8859-11", "windows-874"},
      {"iso-8859-9", "windows-1254"},
  };
  for (const auto& [from, to] : aliases) {
    if (name == from) return to;
  }
  return name;
}

}  // namespace

charset_decoder::charset_decoder(std::string_view charset) : mode_(mode::utf8_or_1252) {
  std::string name = base::to_lower(base::trim(charset));
  if (name.empty() || name.size() > 64 || !std::all_of(name.begin(), name.end(), is_charset_char)) {
    return;  // absent or nothing ICU could know: guess
  }
  if (name == "utf-8" || name == "utf8") {
    mode_ = mode::utf8;
  } else if (name == "us-ascii" || name == "ascii" || name == "ansi_x3.4-1968" ||
             name == "iso646-us" || name == "us") {
    mode_ = mode::utf8_or_1252;  // 8-bit bytes in "ASCII" text are often UTF-8
  } else if (name == "iso-8859-1" || name == "iso8859-1" || name == "iso_8859-1" ||
             name == "latin1" || name == "l1" || name == "windows-1252" || name == "cp1252" ||
             name == "x-cp1252") {
    mode_ = mode::windows_1252;
  } else {
    name_ = std::string(icu_alias(name));
    cnv_ = thread_cache().take(name_);
    if (cnv_ != nullptr) mode_ = mode::icu;
  }
}

charset_decoder::~charset_decoder() {
  if (cnv_ != nullptr) thread_cache().give_back(std::move(name_), cnv_);
}

void charset_decoder::feed(std::string_view in, std::string& out) {
  switch (mode_) {
    case mode::utf8:
    case mode::utf8_or_1252:
      feed_utf8(in, out, false);
      return;
    case mode::windows_1252:
      for (const char c : in) append_cp1252(out, static_cast<unsigned char>(c));
      return;
    case mode::icu:
      feed_icu(in, out, false);
      return;
  }
}

void charset_decoder::finish(std::string& out) {
  switch (mode_) {
    case mode::utf8:
    case mode::utf8_or_1252:
      feed_utf8({}, out, true);
      return;
    case mode::windows_1252:
      return;
    case mode::icu:
      feed_icu({}, out, true);
      ucnv_reset(cnv_);
      return;
  }
}

void charset_decoder::feed_utf8(std::string_view in, std::string& out, bool last) {
  const bool as_1252 = mode_ == mode::utf8_or_1252;
  // First complete the sequence the last chunk cut (held_ is at most 3 bytes).
  while (!held_.empty() && !in.empty()) {
    held_.push_back(in.front());
    in.remove_prefix(1);
    held_.erase(0, decode_utf8(held_, out, as_1252, false));
  }
  if (last) {
    decode_utf8(held_, out, as_1252, true);
    held_.clear();
  }
  const size_t used = decode_utf8(in, out, as_1252, last);
  held_.append(in.substr(used));
}

void charset_decoder::feed_icu(std::string_view in, std::string& out, bool flush) {
  constexpr size_t capacity = 4096;
  std::array<char16_t, capacity> buf;
  const char* src = in.data();
  const char* const end = src + in.size();
  for (;;) {
    char16_t* target = buf.data();
    if (lead_ != 0) {
      *target++ = lead_;
      lead_ = 0;
    }
    UErrorCode err = U_ZERO_ERROR;
    ucnv_toUnicode(cnv_, &target, buf.data() + capacity, &src, end, nullptr, flush, &err);
    size_t n = static_cast<size_t>(target - buf.data());
    const bool more = err == U_BUFFER_OVERFLOW_ERROR;
    // A surrogate pair cut by the buffer's end waits for its second half.
    if (n > 0 && U16_IS_LEAD(buf[n - 1]) && (more || !flush)) lead_ = buf[--n];
    append_utf16(buf.data(), n, out);
    if (!more) break;
  }
}

std::string to_utf8(std::string_view bytes, std::string_view charset) {
  charset_decoder d(charset);
  std::string out;
  out.reserve(bytes.size());
  if (d.mode_ == charset_decoder::mode::utf8_or_1252) {
    // The whole text is at hand: it is UTF-8 only if all of it is.
    if (is_valid_utf8(bytes)) return std::string(bytes);
    for (const char c : bytes) append_cp1252(out, static_cast<unsigned char>(c));
    return out;
  }
  d.feed(bytes, out);
  d.finish(out);
  return out;
}

bool is_valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t i = 0;
  while (i < s.size()) {
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    const seq q = utf8_seq(p + i, s.size() - i);
    if (q.status != seq_status::valid) return false;
    i += q.length;
  }
  return true;
}

namespace {

const UCaseMap* folding_map() {
  static const UCaseMap* map = [] {
    UErrorCode err = U_ZERO_ERROR;
    UCaseMap* m = ucasemap_open("", U_FOLD_CASE_DEFAULT, &err);
    return U_SUCCESS(err) ? m : nullptr;
  }();
  return map;
}

void append_ascii_folded(std::string_view s, std::string& out) {
  const size_t at = out.size();
  out.append(s);
  for (size_t i = at; i < out.size(); ++i) {
    const char c = out[i];
    if (c >= 'A' && c <= 'Z') out[i] = static_cast<char>(c - 'A' + 'a');
  }
}

// Folds well-formed UTF-8 in pieces that ICU's int32_t lengths can take.
void append_folded_valid(std::string_view s, std::string& out) {
  constexpr size_t piece = 1 << 20;
  const UCaseMap* map = folding_map();
  while (!s.empty()) {
    size_t n = std::min(s.size(), piece);
    // Cut only before a lead byte, never inside a sequence.
    while (n < s.size() && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    std::string_view p = s.substr(0, n);
    s.remove_prefix(n);
    size_t ascii = 0;
    while (ascii < p.size() && static_cast<unsigned char>(p[ascii]) < 0x80) ++ascii;
    append_ascii_folded(p.substr(0, ascii), out);
    p.remove_prefix(ascii);
    if (p.empty()) continue;
    if (map == nullptr) {  // ICU without its data: fold ASCII at least
      append_ascii_folded(p, out);
      continue;
    }
    const size_t at = out.size();
    // Full folding grows text at most threefold (U+0390 is 2 bytes, folds to 6).
    int32_t cap = static_cast<int32_t>(p.size() * 3 + 16);
    for (;;) {
      out.resize(at + static_cast<size_t>(cap));
      UErrorCode err = U_ZERO_ERROR;
      const int32_t len = ucasemap_utf8FoldCase(map, out.data() + at, cap, p.data(),
                                                static_cast<int32_t>(p.size()), &err);
      if (err == U_BUFFER_OVERFLOW_ERROR && len > cap) {
        cap = len;
        continue;
      }
      if (U_FAILURE(err)) {
        out.resize(at);
        append_ascii_folded(p, out);
      } else {
        out.resize(at + static_cast<size_t>(len));
      }
      break;
    }
  }
}

}  // namespace

void append_folded(std::string_view utf8, std::string& out) {
  if (is_valid_utf8(utf8)) {
    append_folded_valid(utf8, out);
    return;
  }
  std::string clean;
  decode_utf8(utf8, clean, false, true);
  append_folded_valid(clean, out);
}

std::string fold_case(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  append_folded(utf8, out);
  return out;
}

}  // namespace postern::mime
