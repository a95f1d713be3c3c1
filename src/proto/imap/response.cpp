#include "proto/imap/response.hpp"

#include <fmt/format.h>

#include "proto/imap/tokenizer.hpp"

namespace postern::proto::imap {

void append_string(std::string& out, std::string_view s, bool utf8_ok) {
  bool quotable = s.size() <= 1000;
  bool eight_bit = false;
  for (unsigned char c : s) {
    if (c == 0 || c == '\r' || c == '\n') quotable = false;
    if (c >= 0x80) eight_bit = true;
  }
  if (eight_bit && (!utf8_ok || !valid_utf8(s))) quotable = false;
  if (!quotable) {
    fmt::format_to(std::back_inserter(out), "{{{}}}\r\n", s.size());
    out += s;
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

std::string quote(std::string_view s, bool utf8_ok) {
  std::string out;
  append_string(out, s, utf8_ok);
  return out;
}

void append_nstring(std::string& out, std::string_view s, bool utf8_ok) {
  if (s.empty())
    out += "NIL";
  else
    append_string(out, s, utf8_ok);
}

}  // namespace postern::proto::imap
