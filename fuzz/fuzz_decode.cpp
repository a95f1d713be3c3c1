// Transfer and text decoding for SEARCH and FETCH BINARY: no crash on any input,
// the same output however the input is split, well-formed UTF-8 out of every
// text function, and TEXT finding whatever BODY finds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mime/message_structure.hpp"
#include "mime/base_subject.hpp"
#include "mime/html_text.hpp"
#include "mime/search_fold.hpp"
#include "mime/text_decode.hpp"
#include "mime/text_search.hpp"
#include "mime/transfer_decode.hpp"

namespace mime = postern::mime;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

std::string transfer_split(mime::cte e, std::string_view in, size_t a, size_t b) {
  mime::transfer_decoder d(e);
  std::string out;
  d.feed(in.substr(0, a), out);
  d.feed(in.substr(a, b - a), out);
  d.feed(in.substr(b), out);
  d.finish(out);
  return out;
}

std::string charset_split(std::string_view charset, std::string_view in, size_t a) {
  mime::charset_decoder d(charset);
  std::string out;
  d.feed(in.substr(0, a), out);
  check(mime::is_valid_utf8(out));
  d.feed(in.substr(a), out);
  d.finish(out);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const uint8_t selector = data[0];
  const size_t a = data[1] % (size - 2 + 1);
  std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
  const size_t cut = std::min(a, in.size());
  const size_t cut2 = cut + (in.size() - cut) / 2;

  static constexpr mime::cte ctes[] = {mime::cte::identity, mime::cte::base64,
                                       mime::cte::quoted_printable, mime::cte::unknown};
  const mime::cte e = ctes[selector & 3];
  const std::string whole = mime::decode_body(in, e);
  check(transfer_split(e, in, cut, cut2) == whole);
  check(mime::decoded_size(in, e) == whole.size());

  static constexpr std::string_view charsets[] = {
      "",         "utf-8",   "iso-8859-1", "koi8-r",    "shift_jis", "iso-2022-jp",
      "utf-16le", "utf-7",   "gb18030",    "euc-kr",    "big5",      "us-ascii",
      "utf-32",   "x-bogus", "scsu",       "hz-gb-2312"};
  std::string_view charset = charsets[(selector >> 2) & 15];
  if ((selector >> 6) == 3) charset = in.substr(0, std::min<size_t>(in.size(), 12));
  const std::string utf8 = mime::to_utf8(in, charset);
  check(mime::is_valid_utf8(utf8));
  const std::string streamed = charset_split(charset, in, in.size());
  check(mime::is_valid_utf8(streamed));
  check(charset_split(charset, in, cut) == streamed);

  const std::string header = mime::decode_header_value(in);
  check(mime::is_valid_utf8(header));
  const std::string folded = mime::fold_case(in);
  check(mime::is_valid_utf8(folded));
  check(mime::is_valid_utf8(mime::search_fold(in)));
  check(mime::is_valid_utf8(mime::html_to_text(mime::to_utf8(in, "utf-8"))));
  const auto base = mime::base_subject(in);
  check(mime::is_valid_utf8(base.base));
  // A text holds every trigram of itself: a full score.
  const std::string self = mime::search_fold(in);
  if (!self.empty()) check(mime::fuzzy_match(self, self) == 100);

  // Search: the first bytes are the needle, the rest a message.
  const size_t needle_len = std::min<size_t>(in.size(), selector % 8);
  const mime::text_needle needle(in.substr(0, needle_len));
  const std::string_view message = in.substr(needle_len);
  const mime::message_structure s = mime::parse(message);
  const bool body = mime::body_contains(message, s, needle);
  const bool text = mime::text_contains(message, s, needle);
  check(!body || text);
  mime::header_field_contains(message, s, "subject", needle);
  return 0;
}
