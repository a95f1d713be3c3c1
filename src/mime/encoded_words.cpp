// decode_header_value() (text_decode.hpp): RFC 2047 encoded words in a header
// field value, leniently, as mail readers decode them.
#include <string>
#include <string_view>

#include "base/strings.hpp"
#include "mime/text_decode.hpp"
#include "mime/transfer_decode.hpp"

namespace postern::mime {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

bool all_blanks(std::string_view s) {
  for (const char c : s) {
    if (!is_blank(c)) return false;
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// RFC 5322 §2.2.3: within one field every line break is a fold.
std::string unfold(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (const char c : raw) {
    if (c != '\r' && c != '\n') out.push_back(c);
  }
  size_t b = 0;
  size_t e = out.size();
  while (b < e && is_blank(out[b])) ++b;
  while (e > b && is_blank(out[e - 1])) --e;
  return out.substr(b, e - b);
}

// RFC 2047 §4.2: "_" is a space, "=XX" a byte; a malformed "=" stays literal.
std::string decode_q(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '_') {
      out.push_back(' ');
    } else if (c == '=' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
               hex_value(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(text[i + 1]) << 4 | hex_value(text[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

struct encoded_word {
  std::string_view charset;  // without an RFC 2231 §5 "*language"
  std::string bytes;         // the decoded octets, still in `charset`
  size_t end = 0;            // just after the closing "?="
};

// RFC 2047 §2: "=?" charset "?" encoding "?" encoded-text "?=" at `at`.
// Longer words than §2's 75 characters are accepted, as everyone does; the
// charset is bounded since no real one is longer.
bool parse_word(std::string_view s, size_t at, encoded_word& w) {
  constexpr size_t max_charset = 64;
  size_t i = at + 2;
  const size_t charset_begin = i;
  while (i < s.size() && s[i] != '?') {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c <= ' ' || c >= 0x7f || i - charset_begin >= max_charset) return false;
    ++i;
  }
  if (i == charset_begin || i + 2 >= s.size()) return false;
  std::string_view charset = s.substr(charset_begin, i - charset_begin);
  if (const size_t star = charset.find('*'); star != std::string_view::npos) {
    charset = charset.substr(0, star);
  }
  if (charset.empty()) return false;
  const char encoding = s[i + 1];
  if (s[i + 2] != '?') return false;
  i += 3;
  const size_t text_begin = i;
  // RFC 2047 §2: encoded-text has no "?" and no SPACE or controls; it is
  // allowed to be empty here.
  while (i < s.size() && s[i] != '?') {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c <= ' ' || c >= 0x7f) return false;
    ++i;
  }
  if (i + 1 >= s.size() || s[i + 1] != '=') return false;
  const std::string_view text = s.substr(text_begin, i - text_begin);
  if (encoding == 'B' || encoding == 'b') {
    w.bytes = decode_body(text, cte::base64);
  } else if (encoding == 'Q' || encoding == 'q') {
    w.bytes = decode_q(text);
  } else {
    return false;
  }
  w.charset = charset;
  w.end = i + 2;
  return true;
}

// Text outside encoded words: ASCII, or raw 8-bit (RFC 6532 UTF-8, or a legacy
// charset nobody declared).
void append_plain(std::string_view text, std::string& out) { out += to_utf8(text, ""); }

}  // namespace

std::string decode_header_value(std::string_view raw) {
  const std::string text = unfold(raw);
  std::string out;
  out.reserve(text.size());
  // Decoded octets of adjacent encoded words in one charset, converted together.
  std::string pending;
  std::string pending_charset;
  auto flush = [&] {
    if (!pending.empty()) out += to_utf8(pending, pending_charset);
    pending.clear();
  };
  size_t plain_begin = 0;  // start of the text not yet output
  bool after_word = false;
  size_t i = 0;
  while (i < text.size()) {
    const size_t at = text.find("=?", i);
    if (at == std::string::npos) break;
    encoded_word w;
    if (!parse_word(text, at, w)) {
      i = at + 1;
      continue;
    }
    const std::string_view between(text.data() + plain_begin, at - plain_begin);
    // RFC 2047 §6.2: white space between adjacent encoded words is not displayed.
    if (!(after_word && all_blanks(between))) {
      flush();
      append_plain(between, out);
    }
    // Words in a stateful charset (ISO-2022-JP and kin) are each complete,
    // ending back in ASCII (RFC 1468 §3); joined, the switch back and the
    // next word's switch out would meet, which ICU refuses as an empty
    // segment. Other charsets may split a character over two words.
    if (!pending.empty() && (!base::iequals(pending_charset, w.charset) ||
                             base::iequals(w.charset.substr(0, 8), "ISO-2022")))
      flush();
    pending_charset = std::string(w.charset);
    pending += w.bytes;
    after_word = true;
    i = plain_begin = w.end;
  }
  flush();
  append_plain(std::string_view(text).substr(plain_begin), out);
  return out;
}

}  // namespace postern::mime
