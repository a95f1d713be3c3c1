// Reads one IMAP command (RFC 9051 §2.2): a line, and for each literal
// announced at a line end, "+" (unless it is non-synchronizing, RFC 7888)
// and exactly that many bytes, then the rest of the line, until a line ends
// with no literal. Everything is bounded by max_command_size, except the
// message literal of APPEND, which is never buffered: the reader stops at it
// and the APPEND handler streams it to a spool file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "net/asio.hpp"

namespace postern::session::imap {

struct session;

// "{n}", "{n+}", "~{n}" or "~{n+}" at the very end of a line.
struct literal_marker {
  uint64_t size = 0;
  bool sync = true;     // "+" must be sent before the client sends it
  bool binary = false;  // literal8 (RFC 3516)
  size_t length = 0;    // characters of the marker in the line
};
std::optional<literal_marker> trailing_literal(std::string_view line);

struct command_input {
  enum class kind {
    command,          // text is the whole command, final CRLF stripped
    append_literal,   // text is "tag APPEND args" up to the message literal (marker stripped)
    too_long,         // a line or the whole command is over max_command_size; tag if known
    literal_too_big,  // a synchronizing literal over the limit was refused (no "+")
    fatal_literal,    // a non-synchronizing literal over the limit: BAD, then close (RFC 7888 §4)
    closed,
    timed_out,
    interrupted,
  } what = kind::closed;
  std::string text;
  literal_marker literal;  // append_literal, literal_too_big, fatal_literal
};

net::awaitable<command_input> read_command(session& s);

// Reads exactly `n` bytes of a literal into `out` within one timeout.
net::awaitable<bool> read_literal_into(session& s, uint64_t n, std::string& out);

// The tag at the start of a command, or "*" when it has none that is valid.
std::string tag_of(std::string_view text);

}  // namespace postern::session::imap
