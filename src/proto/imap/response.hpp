// Pieces of IMAP responses (RFC 9051 §4.3, §9): strings as quoted strings
// when they can be, literals when they cannot (CR, LF, NUL, over 1000 bytes,
// or 8-bit bytes where the client did not enable UTF-8).
#pragma once

#include <string>
#include <string_view>

namespace postern::proto::imap {

// Appends `s` as a quoted string or a literal. `utf8_ok`: valid UTF-8 may be
// sent quoted (IMAP4rev2, UTF8=ACCEPT).
void append_string(std::string& out, std::string_view s, bool utf8_ok = false);
std::string quote(std::string_view s, bool utf8_ok = false);
// NIL for an empty string, else append_string.
void append_nstring(std::string& out, std::string_view s, bool utf8_ok = false);

}  // namespace postern::proto::imap
