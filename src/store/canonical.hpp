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

// The same conversion for a message that arrives in pieces (LMTP DATA is
// streamed to a spool file): feed() appends the canonical form of each piece,
// finish() the pending line break; the result equals canonicalize() of the
// whole (or the input itself when that was canonical already).
class canonical_stream {
 public:
  void feed(std::string_view in, std::string& out);
  void finish(std::string& out);
  // The same for bytes already appended to `buf` from `from` on: when they
  // are canonical (the usual CRLF input) nothing is copied.
  void feed_in_place(std::string& buf, size_t from);
  uint32_t dot_lines() const { return dot_lines_; }

 private:
  void line_break(std::string& out) {
    out += "\r\n";
    at_line_start_ = true;
  }
  bool pending_cr_ = false;
  bool at_line_start_ = true;
  bool wrote_ = false;
  uint32_t dot_lines_ = 0;
};

}  // namespace postern::store
