// Message structure: no crash on any input, offsets inside the message, and
// the stored form round-trips.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "mime/message_structure.hpp"

namespace mime = postern::mime;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto s = mime::parse(in);
  if (s.header_size > size) std::abort();
  for (auto& p : s.parts) {
    if (p.header_offset > p.body_offset || p.body_offset > size ||
        p.body_size > size - p.body_offset)
      std::abort();
  }
  auto text = mime::serialize(s);
  mime::message_structure back;
  if (!mime::deserialize(text, back) || mime::serialize(back) != text) std::abort();
  // Arbitrary bytes as a stored form must be rejected or read, never crash.
  mime::deserialize(in, back);
  return 0;
}
