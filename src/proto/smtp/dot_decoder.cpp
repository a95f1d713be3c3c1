#include "proto/smtp/dot_decoder.hpp"

#include <cstring>

namespace postern::proto::smtp {

void dot_decoder::emit(const char* p, size_t n, std::string& out) {
  if (total_ < limit_) out.append(p, static_cast<size_t>(std::min<uint64_t>(n, limit_ - total_)));
  total_ += n;
}

// RFC 5321 §4.1.1.4 and §4.5.2: a line is what ends in CRLF, and only the
// line holding a single "." — that is, CRLF "." CRLF — ends the data. A bare
// LF is data, so "\n.\n", "\n.\r\n" and "\r\n.\n" end nothing: no second
// message can be smuggled inside one.
size_t dot_decoder::feed(std::string_view in, std::string& out) {
  const char* p = in.data();
  const char* end = p + in.size();
  while (p < end && state_ != state::done) {
    switch (state_) {
      case state::line_start:
        if (*p == '.') {
          state_ = state::dot;
          ++p;
        } else {
          state_ = state::in_line;
        }
        break;
      case state::dot:
        if (*p == '\r') {
          state_ = state::dot_cr;
          ++p;
        } else {
          state_ = state::in_line;  // the transparency dot is dropped
        }
        break;
      case state::dot_cr:
        if (*p == '\n') {
          state_ = state::done;
          ++p;
        } else {
          emit("\r", 1, out);  // ".\rX": a stray CR after a stuffed dot
          state_ = state::in_line;
        }
        break;
      case state::in_line: {
        auto* cr = static_cast<const char*>(std::memchr(p, '\r', static_cast<size_t>(end - p)));
        const char* stop = cr ? cr + 1 : end;
        emit(p, static_cast<size_t>(stop - p), out);
        if (cr) state_ = state::cr;
        p = stop;
        break;
      }
      case state::cr:
        if (*p == '\n') {
          emit("\n", 1, out);
          state_ = state::line_start;
          ++p;
        } else {
          state_ = state::in_line;  // a bare CR is data
        }
        break;
      case state::done:
        break;
    }
  }
  return static_cast<size_t>(p - in.data());
}

}  // namespace postern::proto::smtp
