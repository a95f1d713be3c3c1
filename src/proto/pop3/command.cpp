#include "proto/pop3/command.hpp"

#include "base/strings.hpp"

namespace postern::proto::pop3 {

parse_result parse_command(std::string_view line) {
  parse_result r;
  if (line.empty()) {
    r.error = parse_error::empty;
    return r;
  }
  auto sp = line.find(' ');
  auto kw = line.substr(0, sp);
  if (kw.empty() || kw.size() > 20) {
    r.error = parse_error::bad_keyword;
    return r;
  }
  for (char c : kw) {
    bool letter =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!letter) {
      r.error = parse_error::bad_keyword;
      return r;
    }
  }
  command c;
  c.verb = base::to_upper(kw);
  if (sp != std::string_view::npos) c.args = std::string(line.substr(sp + 1));
  r.cmd = std::move(c);
  return r;
}

std::optional<uint32_t> parse_message_number(std::string_view arg) {
  auto n = base::parse_u64(arg);
  if (!n || *n == 0 || *n > 0xffffffffu) return std::nullopt;
  return static_cast<uint32_t>(*n);
}

std::optional<std::pair<std::string_view, std::string_view>> split_two(std::string_view args) {
  auto sp = args.find(' ');
  if (sp == std::string_view::npos) return std::nullopt;
  auto a = args.substr(0, sp);
  auto b = args.substr(sp + 1);
  if (a.empty() || b.empty() || b.find(' ') != std::string_view::npos) return std::nullopt;
  return std::pair{a, b};
}

}  // namespace postern::proto::pop3
