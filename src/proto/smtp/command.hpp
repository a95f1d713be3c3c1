// SMTP/LMTP command lines (RFC 5321 §4.1, RFC 2033): pure parsing, no I/O.
// One grammar serves LMTP delivery and, later, submission.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace postern::proto::smtp {

struct command {
  std::string verb;  // upper-case
  std::string args;  // after the first space, verbatim
};

std::optional<command> parse_command(std::string_view line);

struct path_argument {
  std::string address;  // without angle brackets; "" for the null reverse-path <>
  std::vector<std::pair<std::string, std::string>> params;  // upper-case keyword, value
};

// Parses "FROM:<a@b> SIZE=10" (prefix "FROM:") or "TO:<a@b>" (prefix "TO:").
// On failure `error` says what is wrong in words.
std::optional<path_argument> parse_path(std::string_view args, std::string_view prefix,
                                        std::string& error);

}  // namespace postern::proto::smtp
