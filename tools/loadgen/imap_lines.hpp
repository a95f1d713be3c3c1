// The line-level pieces of reading IMAP (RFC 9051) responses, apart from any
// I/O so that they can be tested alone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace loadgen {

// The length of the literal a response line announces at its end: `{n}`,
// or `~{n}` for BINARY's literal8 (RFC 3516 §4.3). A server never sends the
// non-synchronising `{n+}` form (RFC 7888 is for clients), so that is none.
std::optional<std::uint64_t> literal_length(std::string_view line);

// True when `line` is the tagged completion of `tag` (`TAG OK ...`, NO, BAD).
bool is_tagged(std::string_view line, std::string_view tag);
bool is_tagged_ok(std::string_view line, std::string_view tag);

// An IMAP quoted string (RFC 9051 §4.3) of s; std::invalid_argument for CR,
// LF or NUL, which no quoted string can carry.
std::string imap_quoted(std::string_view s);

}  // namespace loadgen
