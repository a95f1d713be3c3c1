#include "proto/smtp/dot_decoder.hpp"

#include <cstring>

namespace postern::proto::smtp {

void dot_decoder::emit(const char* p, size_t n, std::string& out) {
  if (total_ < limit_) out.append(p, static_cast<size_t>(std::min<uint64_t>(n, limit_ - total_)));
  total_ += n;
}

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
        } else if (*p == '\n') {  // tolerate a bare-LF terminator
          state_ = state::done;
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
        auto* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
        const char* stop = nl ? nl + 1 : end;
        emit(p, static_cast<size_t>(stop - p), out);
        if (nl) state_ = state::line_start;
        p = stop;
        break;
      }
      case state::done:
        break;
    }
  }
  return static_cast<size_t>(p - in.data());
}

}  // namespace postern::proto::smtp
