// Typed arguments of POP3 commands (RFC 1939 §5, §7): pure parsing, no I/O.
// Range checks against the maildrop belong to the session.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "base/parsed.hpp"

namespace postern::proto::pop3 {

struct message_arg {
  uint32_t number = 0;  // 1-based
};
struct optional_message_arg {
  std::optional<uint32_t> number;  // LIST and UIDL without an argument list everything
};
struct top_args {
  uint32_t number = 0;
  uint64_t lines = 0;
};

base::parsed<message_arg> parse_message_arg(std::string_view args);
base::parsed<optional_message_arg> parse_optional_message_arg(std::string_view args);
base::parsed<top_args> parse_top_args(std::string_view args);

}  // namespace postern::proto::pop3
