// What the full-text index keeps of a message (store/fts_index), and what
// SEARCH matches a message against while it is not indexed yet: the same text
// either way, so an answer never depends on whether the indexer has caught up.
//
// Every field is search_fold()ed (case folded, accents off) UTF-8. Pieces of a
// field (two header fields, two parts) are separated by '\x1f' (U+001F), which
// is taken out of the text itself, so a needle never matches across pieces.
// - subject, from, to, cc, bcc: each occurrence of that top-level field, its
//   value decoded (RFC 2047). The address fields also hold the addresses bare
//   (comments and CFWS around "@" and "." dropped: "<user (c)@ example.org>"
//   is found by "user@example.org", RFC 5322 §3.4).
// - headers: every field of every entity (top level, parts, encapsulated
//   messages) as "name: decoded value"; with body, what SEARCH TEXT reads.
// - body: what SEARCH BODY reads (RFC 9051 §6.4.4): every text/* entity at any
//   depth, transfer-decoded and converted from its charset, text/html reduced
//   to its text (html_text.hpp); the header of each encapsulated message
//   (message/rfc822, message/global) field by field, since it is body text of
//   the outer message; and attachment file names.
// - preview: RFC 8970's PREVIEW (at most 256 characters of the first text
//   part a reader would see, white space collapsed), not folded.
// - truncated: headers or body reached max_indexed_text and were cut: SEARCH
//   must then read the message itself for BODY and TEXT.
//
// Memory: bounded by max_indexed_text per field plus a 64 KiB decoding piece;
// a 50 MB attachment is never decoded (only text/* entities are). Threads: any.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "mime/message_structure.hpp"

namespace postern::mime {

inline constexpr size_t max_indexed_text = 4 * 1024 * 1024;
inline constexpr size_t max_preview_chars = 256;
inline constexpr char piece_separator = '\x1f';

struct search_document {
  std::string subject, from, to, cc, bcc, headers, body;
  std::string preview;
  bool truncated = false;
};

// `message` as stored (canonical CRLF) and `s` its parse().
search_document make_search_document(std::string_view message, const message_structure& s,
                                     size_t limit = max_indexed_text);

// An address header's value with comments dropped and no blanks around "@" and
// "." (see above); not folded.
std::string bare_addresses(std::string_view value);

// RFC 8970 §3.1 preview of `text` (UTF-8, markup already removed): white space
// runs collapsed to one space, leading and trailing blanks dropped, cut at a
// character boundary to at most max_preview_chars characters.
std::string make_preview(std::string_view text);

// The PREVIEW of a message (RFC 8970): make_preview() of its first text part
// that is not an attachment (HTML reduced to text), reading at most 16 KiB of
// that part's decoded text; "" when it has none.
std::string preview_of(std::string_view message, const message_structure& s);

}  // namespace postern::mime
