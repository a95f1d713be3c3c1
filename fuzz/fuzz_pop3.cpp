// POP3 command lines and byte-stuffing: no crash, and stuffing is reversible.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "proto/pop3/command.hpp"
#include "proto/pop3/dot_stuff.hpp"

namespace pop3 = postern::proto::pop3;

static std::string unstuff(const std::string& s) {
  // Reverse of RFC 1939 §3 stuffing, minus the final ".\r\n".
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    size_t nl = s.find('\n', i);
    size_t end = nl == std::string::npos ? s.size() : nl + 1;
    std::string_view line(s.data() + i, end - i);
    if (line == ".\r\n") break;
    if (!line.empty() && line[0] == '.') line.remove_prefix(1);
    out.append(line);
    i = end;
  }
  return out;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = pop3::parse_command(in);
  if (r.cmd) {
    pop3::parse_message_number(r.cmd->args);
    pop3::split_two(r.cmd->args);
  }

  // Stuff the input split at one point; unstuffing gives the input back
  // (with a CRLF added when it did not end with a line break).
  pop3::dot_stuffer st;
  std::string out;
  size_t split = size ? data[0] % (size + 1) : 0;
  st.feed(in.substr(0, split), out);
  st.feed(in.substr(split), out);
  st.finish(out);
  std::string want(in);
  if (!want.empty() && want.back() != '\n') want += "\r\n";
  if (unstuff(out) != want) std::abort();
  return 0;
}
