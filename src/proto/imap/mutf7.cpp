#include "proto/imap/mutf7.hpp"

#include <cstdint>

#include "base/strings.hpp"

namespace postern::proto::imap {

namespace {

// RFC 3501 §5.1.3: RFC 2152 base64 with "," in place of "/".
constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == ',') return 63;
  return -1;
}

bool printable_ascii(uint32_t c) { return c >= 0x20 && c <= 0x7e; }

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

syntax_error failure(size_t offset, std::string words) {
  syntax_error e;
  e.words = "mailbox name " + std::move(words) + " (modified UTF-7, RFC 3501)";
  e.offset = offset;
  return e;
}

// Decodes the shifted run after the "&" at `amp`, up to and including its "-"; `i` is
// left after the "-".
read_result<std::monostate> decode_run(std::string_view name, size_t amp, size_t& i,
                                       std::string& out) {
  uint32_t bits = 0;
  int nbits = 0;
  uint32_t high = 0;  // a high surrogate waiting for its low half
  size_t high_at = 0;
  for (i = amp + 1; i < name.size() && name[i] != '-'; ++i) {
    int v = base64_value(name[i]);
    if (v < 0)
      return failure(i, "has " + std::string(1, '"') + base::printable(name.substr(i, 1)) +
                            "\" inside a base64 run (allowed: A-Z a-z 0-9 + ,)");
    bits = (bits << 6) | static_cast<uint32_t>(v);
    nbits += 6;
    if (nbits < 16) continue;
    nbits -= 16;
    uint32_t unit = (bits >> nbits) & 0xffff;
    bits &= (1u << nbits) - 1;
    if (high != 0) {
      if (unit < 0xdc00 || unit > 0xdfff)
        return failure(high_at, "has an unpaired UTF-16 surrogate");
      append_utf8(out, 0x10000 + ((high - 0xd800) << 10) + (unit - 0xdc00));
      high = 0;
    } else if (unit >= 0xd800 && unit <= 0xdbff) {
      high = unit;
      high_at = i;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) {
      return failure(i, "has an unpaired UTF-16 surrogate");
    } else if (unit == 0) {
      return failure(i, "has an encoded NUL");
    } else if (printable_ascii(unit)) {
      return failure(i, "has \"" + std::string(1, static_cast<char>(unit)) +
                            "\" in base64, where it must represent itself");
    } else {
      append_utf8(out, unit);
    }
  }
  if (i == name.size()) return failure(amp, "has an \"&\" run not closed by \"-\"");
  if (high != 0) return failure(high_at, "has an unpaired UTF-16 surrogate");
  // Canonical base64 leaves fewer than 6 bits over, all zero (RFC 2152's "partial" rules).
  if (nbits >= 6) return failure(i, "has a base64 run that ends inside a UTF-16 unit");
  if (bits != 0) return failure(i, "has a base64 run with non-zero padding bits");
  ++i;  // the "-"
  return std::monostate{};
}

// One code point from the front of `s` and its length; invalid bytes give U+FFFD, 1.
std::pair<uint32_t, size_t> next_code_point(std::string_view s) {
  auto at = [&](size_t k) { return k < s.size() ? static_cast<unsigned char>(s[k]) : 0u; };
  auto tail = [&](size_t k) { return (at(k) & 0xc0) == 0x80; };
  unsigned c = at(0);
  if (c < 0x80) return {c, 1};
  if (c >= 0xc2 && c <= 0xdf && tail(1)) return {((c & 0x1f) << 6) | (at(1) & 0x3f), 2};
  if (c >= 0xe0 && c <= 0xef && tail(1) && tail(2)) {
    uint32_t cp = ((c & 0x0f) << 12) | ((at(1) & 0x3f) << 6) | (at(2) & 0x3f);
    if (cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff)) return {cp, 3};
  }
  if (c >= 0xf0 && c <= 0xf4 && tail(1) && tail(2) && tail(3)) {
    uint32_t cp =
        ((c & 0x07) << 18) | ((at(1) & 0x3f) << 12) | ((at(2) & 0x3f) << 6) | (at(3) & 0x3f);
    if (cp >= 0x10000 && cp <= 0x10ffff) return {cp, 4};
  }
  return {0xfffd, 1};
}

void flush_run(std::string& out, std::u16string& run) {
  if (run.empty()) return;
  out += '&';
  uint32_t bits = 0;
  int nbits = 0;
  for (char16_t u : run) {
    bits = (bits << 16) | u;
    nbits += 16;
    while (nbits >= 6) {
      nbits -= 6;
      out += alphabet[(bits >> nbits) & 0x3f];
    }
    bits &= (1u << nbits) - 1;
  }
  if (nbits > 0) out += alphabet[(bits << (6 - nbits)) & 0x3f];
  out += '-';
  run.clear();
}

}  // namespace

read_result<std::string> decode_mutf7(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  bool after_run = false;
  for (size_t i = 0; i < name.size();) {
    auto c = static_cast<unsigned char>(name[i]);
    if (c >= 0x80) return failure(i, "has an 8-bit byte");
    if (c < 0x20 || c == 0x7f) return failure(i, "has a control character");
    if (c != '&') {
      out += static_cast<char>(c);
      ++i;
      after_run = false;
      continue;
    }
    if (i + 1 < name.size() && name[i + 1] == '-') {
      out += '&';
      i += 2;
      after_run = false;
      continue;
    }
    // Dovecot refuses "&..-&..-": the canonical form is a single run.
    if (after_run) return failure(i, "has two base64 runs back to back (\"-&\"); send one run");
    size_t amp = i;
    auto r = decode_run(name, amp, i, out);
    if (!r) return r.error();
    after_run = true;
  }
  return out;
}

std::string encode_mutf7(std::string_view utf8) {
  std::string out;
  std::u16string run;
  for (size_t i = 0; i < utf8.size();) {
    auto [cp, n] = next_code_point(utf8.substr(i));
    i += n;
    if (printable_ascii(cp)) {
      flush_run(out, run);
      if (cp == '&')
        out += "&-";
      else
        out += static_cast<char>(cp);
    } else if (cp >= 0x10000) {
      cp -= 0x10000;
      run += static_cast<char16_t>(0xd800 + (cp >> 10));
      run += static_cast<char16_t>(0xdc00 + (cp & 0x3ff));
    } else {
      run += static_cast<char16_t>(cp);
    }
  }
  flush_run(out, run);
  return out;
}

}  // namespace postern::proto::imap
