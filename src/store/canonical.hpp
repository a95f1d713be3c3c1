// Canonical stored form of a message: CRLF line endings and a final CRLF, so
// that sizes reported by POP3 LIST and IMAP RFC822.SIZE equal the bytes sent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace postern::store {

// Returns the canonical form, or nullopt when `bytes` is already canonical
// (the common case for LMTP input), so no copy is made.
std::optional<std::string> canonicalize(std::string_view bytes);

// Number of lines that start with '.' (POP3 byte-stuffs them, RFC 1939 §3).
uint32_t count_dot_lines(std::string_view canonical);

}  // namespace postern::store
