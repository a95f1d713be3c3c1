#include "proto/smtp/command.hpp"

#include "base/strings.hpp"

namespace postern::proto::smtp {

std::optional<command> parse_command(std::string_view line) {
  auto sp = line.find(' ');
  auto kw = line.substr(0, sp);
  if (kw.empty() || kw.size() > 20) return std::nullopt;
  for (char c : kw)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return std::nullopt;
  command c;
  c.verb = base::to_upper(kw);
  if (sp != std::string_view::npos) c.args = std::string(line.substr(sp + 1));
  return c;
}

std::optional<path_argument> parse_path(std::string_view args, std::string_view prefix,
                                        std::string& error) {
  auto a = base::trim(args);
  if (a.size() < prefix.size() || !base::iequals(a.substr(0, prefix.size()), prefix)) {
    error = "expected " + std::string(prefix) + "<address>";
    return std::nullopt;
  }
  a.remove_prefix(prefix.size());
  a = base::trim(a);
  if (a.empty() || a.front() != '<') {
    error = "the address must be in angle brackets: " + std::string(prefix) + "<user@example.com>";
    return std::nullopt;
  }
  auto close = a.find('>');
  if (close == std::string_view::npos) {
    error = "missing '>' after the address";
    return std::nullopt;
  }
  path_argument p;
  auto addr = a.substr(1, close - 1);
  // RFC 5321 §4.1.2: drop a source route "@a,@b:" if present.
  if (!addr.empty() && addr.front() == '@') {
    auto colon = addr.find(':');
    if (colon == std::string_view::npos) {
      error = "malformed source route in the address";
      return std::nullopt;
    }
    addr.remove_prefix(colon + 1);
  }
  for (char c : addr)
    if (static_cast<unsigned char>(c) < 0x20 || c == ' ' || c == 0x7f) {
      error = "the address contains a space or control character";
      return std::nullopt;
    }
  p.address = std::string(addr);
  auto rest = a.substr(close + 1);
  while (!rest.empty()) {
    rest = base::trim(rest);
    if (rest.empty()) break;
    auto sp = rest.find(' ');
    auto item = rest.substr(0, sp);
    auto eq = item.find('=');
    p.params.emplace_back(base::to_upper(item.substr(0, eq)),
                          eq == std::string_view::npos ? "" : std::string(item.substr(eq + 1)));
    if (sp == std::string_view::npos) break;
    rest = rest.substr(sp);
  }
  return p;
}

}  // namespace postern::proto::smtp
