// The stored form: canonicalize() output is canonical, the dot-line count
// agrees with a plain scan, and the streamed forms (canonical_stream, copying
// and in place, as LMTP DATA uses them) give the same bytes at any split.
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
  if (size > 0) {
    // A canonical input stays as it is; canonicalize() returns nullopt then.
    std::string want(canon);
    if (!c && want.empty()) want = "\r\n";
    size_t step = 1 + data[0] % 13;
    store::canonical_stream copying, in_place;
    std::string a, b;
    for (size_t at = 0; at < size; at += step) {
      auto piece = in.substr(at, step);
      copying.feed(piece, a);
      size_t from = b.size();
      b += piece;
      in_place.feed_in_place(b, from);
    }
    copying.finish(a);
    in_place.finish(b);
    if (a != want || b != want) std::abort();
    if (copying.dot_lines() != dots || in_place.dot_lines() != dots) std::abort();
  }
  return 0;
}
