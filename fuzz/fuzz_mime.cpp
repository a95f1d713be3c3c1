// Message structure: no crash on any input, offsets inside the message, the
// stored form round-trips, and ENVELOPE, BODY and BODYSTRUCTURE of whatever was
// parsed are well-formed IMAP: parentheses balanced, no CR or LF outside literals.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "mime/imap_structure.hpp"
#include "mime/message_structure.hpp"
#include "mime/search_document.hpp"
#include "mime/sort_record.hpp"
#include "mime/text_decode.hpp"

namespace mime = postern::mime;

namespace {

// Walks an IMAP response fragment: quoted strings (no CR, LF, NUL or 8-bit byte
// inside), literals "{n}\r\n" + n bytes, parentheses. False when it is not
// well-formed.
bool well_formed(std::string_view s) {
  size_t depth = 0;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i++];
    if (c == '(') {
      ++depth;
    } else if (c == ')') {
      if (depth == 0) return false;
      --depth;
    } else if (c == '"') {
      for (;;) {
        if (i == s.size()) return false;
        const auto q = static_cast<unsigned char>(s[i++]);
        if (q == '"') break;
        if (q == '\r' || q == '\n' || q == 0 || q >= 0x80) return false;
        if (q == '\\') {
          if (i == s.size() || (s[i] != '"' && s[i] != '\\')) return false;
          ++i;
        }
      }
    } else if (c == '{') {
      size_t n = 0;
      const size_t digits = i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        n = n * 10 + static_cast<size_t>(s[i++] - '0');
        if (n > s.size()) return false;
      }
      if (i == digits || s.substr(i, 3) != "}\r\n") return false;
      i += 3;
      if (s.size() - i < n) return false;
      if (s.substr(i, n).find('\0') != std::string_view::npos) return false;
      i += n;
    } else if (c == '\r' || c == '\n' || c == '\0') {
      return false;
    }
  }
  return depth == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto s = mime::parse(in);
  if (s.header_size > size) std::abort();
  for (auto& p : s.parts) {
    if (p.header_offset > p.body_offset || p.body_offset > size ||
        p.body_size > size - p.body_offset)
      std::abort();
  }
  if (!well_formed(mime::imap_envelope(s)) || !well_formed(mime::imap_bodystructure(s, true)) ||
      !well_formed(mime::imap_bodystructure(s, false))) {
    std::abort();
  }
  // The address parser on its own, fed the whole input as one header value.
  std::string addresses;
  mime::append_imap_address_list(addresses, in);
  if (!well_formed(addresses)) std::abort();
  auto text = mime::serialize(s);
  mime::message_structure back;
  if (!mime::deserialize(text, back) || mime::serialize(back) != text) std::abort();
  if (mime::imap_bodystructure(back, true) != mime::imap_bodystructure(s, true)) std::abort();
  // What the full-text index, SORT and PREVIEW take from it: bounded, valid
  // UTF-8, and the sort keys' stored form round-trips.
  auto doc = mime::make_search_document(in, s, 4096);
  for (auto* f : {&doc.subject, &doc.from, &doc.to, &doc.cc, &doc.bcc, &doc.headers, &doc.body})
    if (f->size() > 4096 || !mime::is_valid_utf8(*f)) std::abort();
  auto preview = mime::preview_of(in, s);
  if (!mime::is_valid_utf8(preview) || preview.size() > 4 * mime::max_preview_chars) std::abort();
  auto keys = mime::make_sort_record(s, in.substr(0, std::min<size_t>(s.header_size, size)));
  mime::sort_record keys_back;
  if (!mime::deserialize(mime::serialize(keys), keys_back) ||
      mime::serialize(keys_back) != mime::serialize(keys))
    std::abort();
  mime::deserialize(in, keys_back);  // any bytes: read or refused
  // Arbitrary bytes as a stored form must be rejected or read, never crash; what
  // is read is formatted (its envelopes are taken as stored, so only no crash).
  if (mime::deserialize(in, back)) {
    mime::imap_envelope(back);
    mime::imap_bodystructure(back, true);
    mime::imap_bodystructure(back, false);
  }
  return 0;
}
