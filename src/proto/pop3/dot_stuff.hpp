// Byte-stuffing of multi-line responses (RFC 1939 §3): a line starting with
// '.' is sent with one more '.'. Streaming, so RETR never holds a whole
// message in memory.
#pragma once

#include <string>
#include <string_view>

namespace postern::proto::pop3 {

class dot_stuffer {
 public:
  // Appends `in` to `out`, stuffed. Input may be split anywhere.
  void feed(std::string_view in, std::string& out);
  // Ends the response: a CRLF if the data did not end with one, then ".\r\n".
  void finish(std::string& out);

 private:
  bool at_line_start_ = true;
};

}  // namespace postern::proto::pop3
