// Content-Transfer-Encoding decoding (RFC 2045 §6) for FETCH BINARY, BINARY.SIZE
// (RFC 3516) and SEARCH text matching.
//
// Pure code: no I/O. A transfer_decoder is fed a body in chunks of any size, so a
// 50 MB body read from a file in pieces is never held at once; its output is the
// same for every way of splitting the input (tests check every split).
//
// Errors: decoding never fails. Real mail is lenient about encodings, so is this:
// - base64 (RFC 2045 §6.8): bytes outside the alphabet (line breaks, spaces, junk)
//   are ignored; the first '=' ends the data, everything after it is ignored; a
//   final group of 2 or 3 characters yields 1 or 2 bytes, a lone 1 yields none.
// - quoted-printable (RFC 2045 §6.7): "=XX" in either case is the byte XX; "="
//   followed by optional blanks and a line break ("=\r\n", "=\n", "=  \r\n") is a
//   soft line break and vanishes; any other "=" is kept as it is, with what
//   follows it; blanks (SP, HTAB) before a line break are removed (rule 3), and
//   so are blanks and a lone "=" at the very end of the body. Line breaks, CRLF or
//   a bare LF, are kept as they are. Of a run of blanks, every full 4096 bytes
//   are taken as data and output, which bounds what is held (rule 3 still drops
//   the rest before a line break).
// - identity and unknown: the bytes as they are. IMAP answers a FETCH BINARY of a
//   part whose encoding classify_cte() calls unknown with [UNKNOWN-CTE] (RFC 3516
//   §4.3); decoding it as identity serves callers that want the raw bytes anyway.
//
// Memory: a decoder holds at most a few bytes between calls (a QP run of blanks:
// at most 4096). Threads: a decoder is a plain value, used by one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace postern::mime {

enum class cte { identity, base64, quoted_printable, unknown };

// RFC 2045 §6.1: the mechanism is a case-insensitive token. "7bit", "8bit",
// "binary" and "" are identity; surrounding blanks are ignored; anything else
// (including "x-uuencode") is unknown.
cte classify_cte(std::string_view transfer_encoding);

class transfer_decoder {
 public:
  explicit transfer_decoder(cte encoding);

  // Decodes `in` and appends the result to `out`. Bytes whose meaning depends on
  // what follows are held until the next feed() or finish().
  void feed(std::string_view in, std::string& out);
  // Appends what is still held; the decoder is then reset to its initial state
  // and may decode another body.
  void finish(std::string& out);

 private:
  void feed_base64(std::string_view in, std::string& out);
  void feed_qp(std::string_view in, std::string& out);
  void qp_byte(char c, std::string& out);

  // Quoted-printable: what the bytes held in hold_ are.
  enum class qp_state : uint8_t {
    normal,     // nothing held
    blanks,     // a run of SP/HTAB
    blanks_cr,  // a run of blanks then CR
    eq,         // "="
    eq_hex,     // "=" and one hex digit
    eq_blanks,  // "=" then blanks
    eq_cr,      // "=", maybe blanks, then CR
  };

  cte encoding_;
  // base64: bits gathered so far and how many sextets they hold (0..3).
  uint32_t bits_ = 0;
  uint8_t sextets_ = 0;
  bool done_ = false;  // base64: '=' seen, the rest is ignored
  qp_state state_ = qp_state::normal;
  uint8_t hex_ = 0;   // the first hex digit's value in eq_hex
  std::string hold_;  // the held bytes, output literally when they turn out to be data
};

// Counts the decoded bytes of a body fed in chunks without keeping them (for
// BINARY.SIZE of a large part): memory stays at one 64 KiB scratch buffer.
class decoded_size_counter {
 public:
  explicit decoded_size_counter(cte encoding) : decoder_(encoding) {}
  void feed(std::string_view in);
  // Counts what is held and returns the total; the counter then starts over.
  uint64_t finish();

 private:
  transfer_decoder decoder_;
  std::string scratch_;
  uint64_t size_ = 0;
};

// The size of `body` once decoded (RFC 3516 §4.2 BINARY.SIZE), in bounded memory.
uint64_t decoded_size(std::string_view body, cte encoding);

// The whole body decoded at once; for small bodies and tests.
std::string decode_body(std::string_view body, cte encoding);

}  // namespace postern::mime
