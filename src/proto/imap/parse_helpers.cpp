#include "proto/imap/parse_helpers.hpp"

#include "base/strings.hpp"

namespace postern::proto::imap::detail {

std::string quote(std::string_view s) { return "\"" + base::printable(s, 24) + "\""; }

std::string found(const cursor& c) {
  auto r = c.rest();
  if (r.empty()) return "(found nothing more)";
  if (r.starts_with("\r\n") || r.starts_with('\n')) return "(found end of line)";
  if (r.front() == ' ') return "(found SP)";
  size_t n = 0;
  while (n < r.size() && n < 24 && r[n] != ' ' && r[n] != '\r' && r[n] != '\n') ++n;
  return "(found " + quote(r.substr(0, n == 0 ? 1 : n)) + ")";
}

syntax_error error_at(const cursor& c, std::string words) {
  syntax_error e;
  e.words = std::move(words);
  e.offset = c.offset();
  return e;
}

syntax_error expected_at(const cursor& c, std::string_view what, std::string_view where) {
  std::string m = "expected ";
  m += what;
  if (!where.empty()) {
    m += ' ';
    m += where;
  }
  m += ' ';
  m += found(c);
  return error_at(c, std::move(m));
}

std::string_view peek_atom(const cursor& c) {
  cursor copy = c;
  auto a = copy.read_atom();
  return a ? *a : std::string_view{};
}

void advance(cursor& c, size_t n) {
  for (size_t i = 0; i < n && !c.at_end(); ++i) c.skip(c.rest().front());
}

checked finish(cursor& c) {
  if (c.at_end()) return std::monostate{};
  return c.expect_end();
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace postern::proto::imap::detail
