// Text matching for IMAP SEARCH HEADER, BODY and TEXT (RFC 9051 §6.4.4), SUBJECT,
// FROM, TO, CC, BCC (which are HEADER of that field).
//
// Matching is substring search on text converted to UTF-8 and fully case-folded
// (text_decode.hpp fold_case), on both the needle and the message: "STRASSE"
// finds "Straße", "σοφος" finds "ΣΟΦΟΣ". No Unicode normalisation is done, so a
// precomposed "é" does not find "e" + U+0301.
//
// What is searched:
// - header_field_contains: every occurrence of the field in the top-level header,
//   its value decoded (decode_header_value: unfolded, RFC 2047 words decoded).
// - body_contains: the body of every text/* entity at any depth, transfer-decoded
//   (base64, quoted-printable; unknown encodings as they are) and converted from
//   its charset parameter; and the header of every encapsulated message (inside a
//   message/rfc822 or message/global part), field by field as "Name: value",
//   since that header is part of the outer message's body text. Not searched: the
//   bodies of non-text entities (images, application/*, a message/rfc822 that is
//   itself base64-encoded), multipart preambles and epilogues. text/html is
//   searched as it is, markup included.
// - text_contains: every header field of every entity (the top-level header, part
//   headers, encapsulated headers), each as "Name: value" decoded, or the bodies
//   body_contains searches.
// A needle never matches across two header fields or two parts.
//
// Memory: a body is decoded, converted and folded in 64 KiB pieces, with an
// overlap of the needle's length, so searching holds one piece, never a whole
// decoded part; there is no size limit. Time is linear in the message size.
//
// Input: `message` is the whole message as stored and `s` its parse(); offsets
// past the end of `message` (a stale index) are cut to it. Threads: any thread;
// a text_needle may be shared by threads once built.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "mime/message_structure.hpp"

namespace postern::mime {

class text_needle {
 public:
  // The SEARCH string, already converted to UTF-8 from the command's CHARSET.
  // Ill-formed UTF-8 in it becomes U+FFFD. Cheap to copy (the folded text and
  // its search tables are shared, immutable).
  explicit text_needle(std::string_view utf8_needle);

  bool empty() const;
  const std::string& folded() const;
  // Whether `folded_text` (already through fold_case) contains the needle; an
  // empty needle is in every text. Boyer-Moore for longer needles, so a hostile
  // needle and text cannot make this quadratic.
  bool found_in(std::string_view folded_text) const;

 private:
  struct impl;
  std::shared_ptr<const impl> impl_;
};

// Feeds folded text in pieces and tells whether the needle occurs in it, also
// across piece boundaries. For callers with text of their own in chunks.
class folded_matcher {
 public:
  explicit folded_matcher(const text_needle& needle) : needle_(needle) {}
  // Returns found(); once true, further text is ignored.
  bool feed(std::string_view folded_text);
  bool found() const { return found_; }

 private:
  const text_needle& needle_;
  std::string window_;  // the last needle-length-minus-one bytes, then the new piece
  bool found_ = false;
};

bool header_field_contains(std::string_view message, const message_structure& s,
                           std::string_view field_name, const text_needle& n);
bool body_contains(std::string_view message, const message_structure& s, const text_needle& n);
bool text_contains(std::string_view message, const message_structure& s, const text_needle& n);

}  // namespace postern::mime
