#include "imap_lines.hpp"

#include <charconv>
#include <stdexcept>

namespace loadgen {

std::optional<std::uint64_t> literal_length(std::string_view line) {
  if (line.empty() || line.back() != '}') return std::nullopt;
  const auto open = line.rfind('{');
  if (open == std::string_view::npos) return std::nullopt;
  const auto digits = line.substr(open + 1, line.size() - open - 2);
  if (digits.empty() || digits.size() > 19) return std::nullopt;
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  return n;
}

bool is_tagged(std::string_view line, std::string_view tag) {
  return line.size() > tag.size() && line.starts_with(tag) && line[tag.size()] == ' ';
}

bool is_tagged_ok(std::string_view line, std::string_view tag) {
  return is_tagged(line, tag) && line.substr(tag.size() + 1).starts_with("OK");
}

std::string imap_quoted(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    // RFC 9051 §4.3: a quoted string holds no CR, LF or NUL; sent anyway, the
    // line would end early and the rest be read as another command.
    if (ch == '\r' || ch == '\n' || ch == '\0')
      throw std::invalid_argument("an IMAP quoted string cannot hold CR, LF or NUL");
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  out += '"';
  return out;
}

}  // namespace loadgen
