#include "multiline.hpp"

#include <cstring>

namespace loadgen {

// Scanning for '.' with memchr is several times cheaper than searching for
// "\r\n.\r\n": base64 has no dots and text has few, so the client's share of
// the CPU stays small next to the server it measures.
multiline_scanner::step multiline_scanner::scan(std::string_view data) {
  const char* base = data.data();
  const std::size_t n = data.size();
  std::size_t pos = 0;
  while (pos < n) {
    const auto* dot = static_cast<const char*>(std::memchr(base + pos, '.', n - pos));
    if (dot == nullptr) {
      pos = n;
      break;
    }
    const std::size_t off = dot - base;
    if (off == 0 ? line_start_ : base[off - 1] == '\n') {
      if (off + 3 > n) {  // too few bytes yet to tell "." from ".." or ".x"
        pos = off;
        break;
      }
      if (base[off + 1] == '\r' && base[off + 2] == '\n') {
        body_ += off;
        return {off + 3, true};
      }
    }
    pos = off + 1;
  }
  if (pos > 0) {
    line_start_ = base[pos - 1] == '\n';
    body_ += pos;
  }
  return {pos, false};
}

}  // namespace loadgen
