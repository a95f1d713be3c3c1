#include "proto/imap/tokenizer.hpp"

#include <algorithm>
#include <cstring>

#include "base/strings.hpp"

namespace postern::proto::imap {

namespace {

// RFC 9051 §9: atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards /
// quoted-specials / resp-specials; CHAR is 7-bit, so 8-bit bytes are never atom chars.
bool is_atom_char(char ch) {
  auto c = static_cast<unsigned char>(ch);
  if (c <= 0x20 || c >= 0x7f) return false;
  return std::strchr("(){%*\"\\]", c) == nullptr;
}

// ASTRING-CHAR = ATOM-CHAR / resp-specials
bool is_astring_char(char c) { return is_atom_char(c) || c == ']'; }

bool is_tag_char(char c) { return is_astring_char(c) && c != '+'; }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Length of the line end ("\r\n" or "\n") at the start of `s`, 0 when there is none.
size_t line_end_at(std::string_view s) {
  if (s.starts_with("\r\n")) return 2;
  if (s.starts_with('\n')) return 1;
  return 0;
}

bool is_final_line_end(std::string_view s) {
  size_t n = line_end_at(s);
  return n > 0 && n == s.size();
}

bool is_tail(unsigned char c) { return c >= 0x80 && c <= 0xbf; }

// Length of the UTF-8 sequence starting `s` (RFC 3629 §4 UTF8-2/3/4), 0 when invalid.
size_t utf8_sequence(std::string_view s) {
  auto at = [&](size_t i) { return i < s.size() ? static_cast<unsigned char>(s[i]) : 0; };
  unsigned char c = at(0);
  if (c >= 0xc2 && c <= 0xdf) return is_tail(at(1)) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    unsigned char lo = c == 0xe0 ? 0xa0 : 0x80;
    unsigned char hi = c == 0xed ? 0x9f : 0xbf;  // no UTF-16 surrogates
    return at(1) >= lo && at(1) <= hi && is_tail(at(2)) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    unsigned char lo = c == 0xf0 ? 0x90 : 0x80;
    unsigned char hi = c == 0xf4 ? 0x8f : 0xbf;  // nothing above U+10FFFF
    return at(1) >= lo && at(1) <= hi && is_tail(at(2)) && is_tail(at(3)) ? 4 : 0;
  }
  return 0;
}

std::string quote(std::string_view s) { return "\"" + base::printable(s, 24) + "\""; }

}  // namespace

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t n = utf8_sequence(s.substr(i));
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::vector<seq_range> normalize(const sequence_set& set, uint32_t largest) {
  std::vector<seq_range> out;
  out.reserve(set.ranges.size());
  for (auto r : set.ranges) {
    if (r.first == seq_star) r.first = largest;
    if (r.last == seq_star) r.last = largest;
    if (r.first > r.last) std::swap(r.first, r.last);
    out.push_back(r);
  }
  std::sort(out.begin(), out.end(),
            [](const seq_range& a, const seq_range& b) { return a.first < b.first; });
  size_t kept = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    // Merge when overlapping or adjacent; last + 1 is computed in 64 bits.
    if (kept > 0 && out[i].first <= uint64_t{out[kept - 1].last} + 1) {
      out[kept - 1].last = std::max(out[kept - 1].last, out[i].last);
    } else {
      out[kept++] = out[i];
    }
  }
  out.resize(kept);
  return out;
}

bool cursor::skip(char c) {
  if (!peek(c)) return false;
  ++pos_;
  return true;
}

syntax_error cursor::error_here(std::string_view message) const {
  syntax_error e;
  e.words = message;
  e.offset = pos_;
  return e;
}

// "(found ...)": what the client sent instead, escaped for the reply line.
std::string cursor::found() const {
  auto r = rest();
  if (r.empty()) return "(found nothing more)";
  if (line_end_at(r) > 0) return "(found end of line)";
  if (r.front() == ' ') return "(found SP)";
  size_t n = 0;
  while (n < r.size() && n < 24 && r[n] != ' ' && r[n] != '\r' && r[n] != '\n') ++n;
  return "(found " + quote(r.substr(0, std::max<size_t>(n, 1))) + ")";
}

syntax_error cursor::expected(std::string_view what, std::string_view where) const {
  std::string m = "expected ";
  m += what;
  if (!where.empty()) {
    m += ' ';
    m += where;
  }
  m += ' ';
  m += found();
  return error_here(m);
}

read_result<std::string_view> cursor::read_tag() {
  size_t start = pos_;
  while (pos_ < in_.size() && is_tag_char(in_[pos_])) ++pos_;
  if (pos_ == start) return expected("a tag");
  return in_.substr(start, pos_ - start);
}

read_result<std::string_view> cursor::read_atom(std::string_view what) {
  size_t start = pos_;
  while (pos_ < in_.size() && is_atom_char(in_[pos_])) ++pos_;
  if (pos_ == start) return expected(what);
  return in_.substr(start, pos_ - start);
}

read_result<uint64_t> cursor::read_digits(std::string_view what, uint64_t max, bool nonzero) {
  size_t start = pos_;
  if (pos_ >= in_.size() || !is_digit(in_[pos_]) || (nonzero && in_[pos_] == '0'))
    return expected(what);
  uint64_t v = 0;
  bool over = false;
  while (pos_ < in_.size() && is_digit(in_[pos_])) {
    auto d = static_cast<uint64_t>(in_[pos_] - '0');
    if (v > (max - d) / 10) over = true;
    if (!over) v = v * 10 + d;
    ++pos_;
  }
  if (over) {
    auto digits = in_.substr(start, pos_ - start);
    pos_ = start;
    return error_here("number " + quote(digits) + " is too large (at most " + std::to_string(max) +
                      ")");
  }
  return v;
}

read_result<uint32_t> cursor::read_number(std::string_view what) {
  auto v = read_digits(what, UINT32_MAX, false);
  if (!v) return v.error();
  return static_cast<uint32_t>(*v);
}

read_result<uint32_t> cursor::read_nz_number(std::string_view what) {
  auto v = read_digits(what, UINT32_MAX, true);
  if (!v) return v.error();
  return static_cast<uint32_t>(*v);
}

read_result<uint64_t> cursor::read_number64(std::string_view what) {
  return read_digits(what, INT64_MAX, false);
}

read_result<std::string> cursor::read_quoted(std::string_view what) {
  if (!peek('"')) return expected(what);
  size_t start = pos_;
  auto fail = [&](std::string_view message) {
    auto e = error_here(message);
    pos_ = start;
    return e;
  };
  ++pos_;
  std::string out;
  while (pos_ < in_.size()) {
    char c = in_[pos_];
    if (c == '"') {
      ++pos_;
      return out;
    }
    if (c == '\\') {
      // RFC 9051 §9: "\" quoted-specials is the only escape.
      if (pos_ + 1 >= in_.size()) break;
      char e = in_[pos_ + 1];
      if (e != '"' && e != '\\') {
        return fail("quoted string has an unknown escape \\" + base::printable({&e, 1}) +
                    " (only \\\" and \\\\ are allowed)");
      }
      out += e;
      pos_ += 2;
      continue;
    }
    if (c == '\r' || c == '\n') {
      if (is_final_line_end(rest())) break;
      return fail("quoted string contains a line break");
    }
    if (c == '\0') return fail("quoted string contains a NUL byte");
    if (static_cast<unsigned char>(c) >= 0x80) {
      size_t n = utf8_sequence(rest());
      if (n == 0) return fail("quoted string is not valid UTF-8");
      out.append(in_.substr(pos_, n));
      pos_ += n;
      continue;
    }
    out += c;
    ++pos_;
  }
  return fail("quoted string is missing its closing quote");
}

read_result<literal> cursor::read_literal(std::string_view what) {
  size_t start = pos_;
  auto fail = [&](syntax_error e) {
    pos_ = start;
    return e;
  };
  literal lit;
  lit.binary = skip('~');
  if (!skip('{')) return fail(expected(what));
  auto n = read_digits("a literal size after \"{\"", INT64_MAX, false);
  if (!n) return fail(n.error());
  lit.non_sync = skip('+');
  if (!skip('}')) return fail(expected("\"}\" to close the literal size"));
  size_t eol = line_end_at(rest());
  if (eol == 0) return fail(expected("CRLF after the literal size"));
  pos_ += eol;
  // RFC 9051 §4.3: exactly n octets follow.
  if (*n > in_.size() - pos_)
    return fail(
        error_here("literal is shorter than its announced " + std::to_string(*n) + " bytes"));
  lit.bytes = in_.substr(pos_, static_cast<size_t>(*n));
  // RFC 9051 §9: literal holds CHAR8 (%x01-ff); only literal8 may carry NUL.
  if (!lit.binary && lit.bytes.find('\0') != std::string_view::npos)
    return fail(error_here("literal contains a NUL byte (only a literal8 ~{n} may, RFC 3516)"));
  pos_ += lit.bytes.size();
  return lit;
}

read_result<std::string> cursor::read_string(std::string_view what) {
  if (peek('"')) return read_quoted(what);
  if (peek('~')) return error_here("a binary literal ~{n} is allowed only in APPEND (RFC 3516)");
  if (!peek('{')) return expected(what);
  auto lit = read_literal(what);
  if (!lit) return lit.error();
  return std::string(lit->bytes);
}

read_result<std::string> cursor::read_astring(std::string_view what) {
  // "~foo" is an atom; only "~{" starts a literal8.
  bool literal8 = peek('~') && pos_ + 1 < in_.size() && in_[pos_ + 1] == '{';
  if (peek('"') || peek('{') || literal8) return read_string(what);
  size_t start = pos_;
  while (pos_ < in_.size() && is_astring_char(in_[pos_])) ++pos_;
  if (pos_ == start) return expected(what);
  return std::string(in_.substr(start, pos_ - start));
}

read_result<std::optional<std::string>> cursor::read_nstring(std::string_view what) {
  bool literal8 = peek('~') && pos_ + 1 < in_.size() && in_[pos_ + 1] == '{';
  if (peek('"') || peek('{') || literal8) {
    auto s = read_string(what);
    if (!s) return s.error();
    return std::optional<std::string>(std::move(*s));
  }
  size_t start = pos_;
  while (pos_ < in_.size() && is_atom_char(in_[pos_])) ++pos_;
  if (base::iequals(in_.substr(start, pos_ - start), "NIL")) return std::optional<std::string>();
  pos_ = start;
  return expected(what);
}

read_result<uint32_t> cursor::read_seq_number(std::string_view what) {
  if (skip('*')) return seq_star;
  if (pos_ < in_.size() && is_digit(in_[pos_]) && in_[pos_] != '0')
    return read_nz_number();  // may still fail: too large
  std::string where = "in ";
  where += what;
  return expected("a non-zero number or \"*\"", where);
}

read_result<sequence_set> cursor::read_sequence_set(std::string_view what) {
  size_t start = pos_;
  auto fail = [&](syntax_error e) {
    pos_ = start;
    return e;
  };
  // RFC 9051 §9: seq-last-command ("$", RFC 5182) stands alone.
  const char* lone_dollar = "\"$\" cannot be combined with other numbers in a sequence set";
  sequence_set set;
  if (skip('$')) {
    if (peek(',') || peek(':')) return fail(error_here(lone_dollar));
    set.saved_result = true;
    return set;
  }
  if (!peek('*') && !(pos_ < in_.size() && is_digit(in_[pos_]))) return expected(what);
  do {
    if (peek('$')) return fail(error_here(lone_dollar));
    auto first = read_seq_number(what);
    if (!first) return fail(first.error());
    seq_range r{*first, *first};
    if (skip(':')) {
      auto last = read_seq_number(what);
      if (!last) return fail(last.error());
      r.last = *last;
    }
    set.ranges.push_back(r);
  } while (skip(','));
  return set;
}

checked cursor::expect_sp(std::string_view where) {
  if (skip(' ')) return std::monostate{};
  return expected("SP", where);
}

checked cursor::expect_open(std::string_view where) {
  if (skip('(')) return std::monostate{};
  return expected("\"(\"", where);
}

checked cursor::expect_close(std::string_view where) {
  if (skip(')')) return std::monostate{};
  return expected("\")\"", where);
}

checked cursor::expect_end() {
  if (is_final_line_end(rest())) {
    pos_ = in_.size();
    return std::monostate{};
  }
  if (at_end()) return error_here("expected CRLF at the end of the command");
  return expected("end of command");
}

}  // namespace postern::proto::imap
