// POP3 command lines (RFC 1939 §3, RFC 2449, RFC 5034, RFC 6856): pure
// parsing, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace postern::proto::pop3 {

struct command {
  std::string verb;  // upper-case keyword as sent ("RETR")
  std::string args;  // everything after the first space, verbatim
};

enum class parse_error { empty, bad_keyword };

struct parse_result {
  std::optional<command> cmd;
  parse_error error = parse_error::empty;
};

// Keywords are 3-4 letters (RFC 1939 §3; RFC 2449 allows up to 4 + extensions);
// we accept 1-20 ASCII letters so unknown extensions get a clear "unknown".
parse_result parse_command(std::string_view line);

// A message number argument: 1-based decimal, no sign, fits in uint32.
std::optional<uint32_t> parse_message_number(std::string_view arg);

// Splits "a b" into its two space-separated words; nullopt unless exactly two.
std::optional<std::pair<std::string_view, std::string_view>> split_two(std::string_view args);

}  // namespace postern::proto::pop3
