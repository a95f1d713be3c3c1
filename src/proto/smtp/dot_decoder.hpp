// The end of SMTP/LMTP DATA (RFC 5321 §4.5.2): removes the transparency dot
// from lines that start with '.', and stops at the line holding only '.'.
// Only <CRLF>.<CRLF> ends the data; lines end in CRLF, and a bare LF or CR
// is data. Incremental: input may be split at any byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace postern::proto::smtp {

class dot_decoder {
 public:
  // Output beyond `limit` bytes is counted but not kept (size limit, bounded memory).
  explicit dot_decoder(uint64_t limit) : limit_(limit) {}

  // Consumes input up to and including the terminating ".\r\n"; returns how
  // many bytes of `in` were used. Appends the message bytes to `out`.
  size_t feed(std::string_view in, std::string& out);

  bool done() const { return state_ == state::done; }
  bool over_limit() const { return total_ > limit_; }
  uint64_t total() const { return total_; }

 private:
  enum class state { line_start, dot, dot_cr, in_line, cr, done };
  void emit(const char* p, size_t n, std::string& out);

  state state_ = state::line_start;
  uint64_t limit_;
  uint64_t total_ = 0;
};

}  // namespace postern::proto::smtp
