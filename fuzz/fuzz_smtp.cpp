// SMTP/LMTP command lines and the DATA dot-decoder: any split of the input
// decodes to the same bytes and stops at the same place.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "proto/smtp/command.hpp"
#include "proto/smtp/dot_decoder.hpp"

namespace smtp = postern::proto::smtp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto c = smtp::parse_command(in)) {
    std::string why;
    smtp::parse_path(c->args, "FROM:", why);
    smtp::parse_path(c->args, "TO:", why);
  }
  smtp::dot_decoder whole(1 << 16);
  std::string a;
  size_t used_whole = whole.feed(in, a);

  smtp::dot_decoder parts(1 << 16);
  std::string b;
  size_t used = 0;
  size_t step = size ? 1 + data[0] % 7 : 1;
  while (used < size && !parts.done()) {
    auto chunk = in.substr(used, step);
    used += parts.feed(chunk, b);
  }
  if (a != b || whole.done() != parts.done() || (whole.done() && used_whole != used))
    std::abort();
  if (whole.total() < a.size()) std::abort();
  return 0;
}
