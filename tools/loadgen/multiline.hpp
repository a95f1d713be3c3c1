// Finds the end of a dot-terminated multi-line response body (RFC 1939 §3,
// the same rule as SMTP DATA) in data that arrives in pieces. No I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace loadgen {

class multiline_scanner {
 public:
  struct step {
    std::size_t consumed;  // bytes of `data` the caller may drop
    bool done;             // the terminator was found (and is included in consumed)
  };

  // Scans the bytes the caller holds; the first byte of the first call starts
  // a line. The caller drops `consumed` bytes and calls again with what it
  // kept plus new bytes; at most two bytes are kept between calls.
  step scan(std::string_view data);

  // The body's octets as received (dot-stuffed), up to and including the CRLF
  // before the terminating ".".
  std::uint64_t body_octets() const { return body_; }

 private:
  std::uint64_t body_ = 0;
  bool line_start_ = true;
};

}  // namespace loadgen
