#include "proto/pop3/dot_stuff.hpp"

#include <cstring>

namespace postern::proto::pop3 {

void dot_stuffer::feed(std::string_view in, std::string& out) {
  const char* p = in.data();
  const char* end = p + in.size();
  while (p < end) {
    if (at_line_start_ && *p == '.') out += '.';
    // Copy up to and including the next LF in one go.
    auto* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    const char* stop = nl ? nl + 1 : end;
    out.append(p, static_cast<size_t>(stop - p));
    at_line_start_ = nl != nullptr;
    p = stop;
  }
}

void dot_stuffer::finish(std::string& out) {
  if (!at_line_start_) out += "\r\n";
  out += ".\r\n";
  at_line_start_ = true;
}

}  // namespace postern::proto::pop3
