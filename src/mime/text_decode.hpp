// Text decoding for IMAP SEARCH: header field values (RFC 2047 encoded words),
// charsets to UTF-8 (ICU ucnv) and Unicode full case folding (ICU).
//
// Errors: nothing here fails. Bytes that do not decode become U+FFFD, unknown
// charsets fall back to UTF-8 or Windows-1252, and malformed encoded words are
// left as they are. Every function returns well-formed UTF-8.
//
// Threads: every function and charset_decoder may be used from any thread at once.
// ICU converters are costly to open, so each thread keeps a small cache of idle
// ones (at most 16); a charset_decoder borrows one for its lifetime and gives it
// back, reset, to the cache of the thread that destroys it (so a decoder held
// across a coroutine suspension that resumes elsewhere is still safe).
#pragma once

#include <string>
#include <string_view>

struct UConverter;  // ICU

namespace postern::mime {

// The unfolded value of one header field (what follows the colon, continuation
// lines included) with its RFC 2047 encoded words decoded, as UTF-8:
// - Line breaks are removed (RFC 5322 §2.2.3); leading and trailing blanks too.
// - "=?charset[*lang]?B|Q?text?=" in any charset ICU knows (RFC 2047 §2, RFC 2231
//   §5); Q turns '_' into a space (RFC 2047 §4.2). Words are recognised anywhere,
//   also where RFC 2047 §5 does not allow them (inside quoted strings, glued to
//   text), as mail readers do.
// - Blanks between two adjacent encoded words are dropped (RFC 2047 §6.2). The
//   bytes of adjacent words in the same charset are joined before conversion, so
//   a character split over two words (a common encoder bug) survives.
// - A malformed word (no closing "?=", blanks inside, an encoding other than B
//   or Q, an empty charset) is left as it is. A charset ICU does not know is read
//   as UTF-8 if valid, else Windows-1252.
// - Raw 8-bit text outside encoded words (RFC 6532 allows UTF-8): UTF-8 if it is
//   valid UTF-8, else Windows-1252 (a superset of ISO-8859-1).
std::string decode_header_value(std::string_view raw);

// `bytes` in `charset` (a MIME charset name, any case, as ICU knows them) as UTF-8.
// Empty, "us-ascii" or unknown charset: UTF-8 if `bytes` is valid UTF-8, else
// Windows-1252. "iso-8859-1" is read as Windows-1252 (as WHATWG and mail readers
// do). Invalid sequences become U+FFFD.
std::string to_utf8(std::string_view bytes, std::string_view charset);

// Streaming form of to_utf8() for a body arriving in chunks. The output of each
// feed() is whole code points (a sequence cut by the chunk end is held), so each
// piece may be passed to fold_case() alone.
// One difference from to_utf8(): with an empty, "us-ascii" or unknown charset it
// cannot see the whole text before deciding, so each well-formed UTF-8 sequence
// is kept and each byte that is not part of one is read as Windows-1252.
class charset_decoder {
 public:
  explicit charset_decoder(std::string_view charset);
  ~charset_decoder();
  charset_decoder(const charset_decoder&) = delete;
  charset_decoder& operator=(const charset_decoder&) = delete;

  // Appends the UTF-8 for `in` to `out`.
  void feed(std::string_view in, std::string& out);
  // Appends what is held (an incomplete sequence becomes U+FFFD); the decoder
  // may then decode another text.
  void finish(std::string& out);

 private:
  friend std::string to_utf8(std::string_view bytes, std::string_view charset);
  enum class mode { utf8, utf8_or_1252, windows_1252, icu };
  void feed_utf8(std::string_view in, std::string& out, bool last);
  void feed_icu(std::string_view in, std::string& out, bool flush);

  mode mode_;
  std::string name_;           // the ICU name the converter was opened with
  UConverter* cnv_ = nullptr;  // owned while borrowed from the thread cache
  std::string held_;           // utf8 modes: bytes of a sequence not yet complete
  char16_t lead_ = 0;          // icu mode: a lead surrogate waiting for its trail
};

// Unicode full default case folding (CaseFolding.txt C+F, ICU U_FOLD_CASE_DEFAULT):
// "Straße" and "STRASSE" both fold to "strasse", Σ σ ς to σ, İ to "i̇" (the
// Turkish dotless/dotted I mapping is not applied). Pure ASCII takes a fast path
// without ICU. Ill-formed UTF-8 in the input becomes U+FFFD first.
std::string fold_case(std::string_view utf8);
// The same, appended to `out`.
void append_folded(std::string_view utf8, std::string& out);

bool is_valid_utf8(std::string_view s);

}  // namespace postern::mime
