// The stored form: canonicalize() output is canonical, and the dot-line count
// agrees with a plain scan.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "store/canonical.hpp"

namespace store = postern::store;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto c = store::canonicalize(in);
  std::string_view canon = c ? std::string_view(*c) : in;
  if (store::canonicalize(canon)) std::abort();  // canonical output stays as it is
  uint32_t dots = 0;
  for (size_t i = 0; i < canon.size(); ++i)
    if (canon[i] == '.' && (i == 0 || canon[i - 1] == '\n')) ++dots;
  if (dots != store::count_dot_lines(canon)) std::abort();
  return 0;
}
