// The messages lmtp-deliver sends: read from a directory (one RFC 5322
// message per file, sorted by name) or generated at a given size.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "options.hpp"

namespace loadgen {

struct message {
  std::string wire;    // CRLF line ends, dot-stuffed, ends with CRLF (RFC 5321 §4.5.2)
  std::uint64_t size;  // octets before dot-stuffing, with CRLF line ends
};

// Throws std::runtime_error when the directory is unreadable or empty.
std::vector<message> load_messages(const options& opt);

// CRLF-normalises and dot-stuffs one message.
message to_wire(const std::string& text);

}  // namespace loadgen
