// FETCH arguments (RFC 9051 §6.4.5, §9 "fetch"; RFC 3501 §6.4.5 for RFC822.*; RFC 3516
// BINARY; RFC 7162 §3.1.4.1 MODSEQ and CHANGEDSINCE, §3.2.6 VANISHED; RFC 8514 SAVEDATE;
// RFC 8474 EMAILID, THREADID). Pure: no I/O, no exceptions, thread-safe.
//
// Contract:
// - parse_fetch takes everything after "FETCH " (or "UID FETCH "): the sequence set, the
//   items and the optional modifiers, with or without the final CRLF (or LF).
// - Errors are syntax_errors for the tagged BAD reply; client bytes in them are escaped.
// - Owned result: nothing in it points into `args`.
//
// Decisions (RFC silent or Dovecot-like):
// - Keywords are case-insensitive; response_name is upper-case with header field names
//   as the client sent them (an atom when they are one, else a quoted string), e.g.
//   BODY.PEEK[header.fields (Subject "X-A(b)")]<0.10> -> BODY[HEADER.FIELDS (Subject
//   "X-A(b)")]<0>. PEEK never shows in the name (RFC 9051 §7.5.2).
// - BINARY with a partial names its origin like BODY ("BINARY[1]<0>"), as RFC 3516 §4.2's
//   prose and Dovecot do (RFC 9051 erratum 7246 notes the ABNF lacks it).
// - The macros ALL, FAST and FULL stand alone only; inside a list they are refused.
// - An empty list "()" is refused. Duplicate items are kept; the session may merge them.
// - RFC822, RFC822.HEADER and RFC822.TEXT keep their own kind, with `section` and `peek`
//   filled as their BODY equivalents (BODY[], BODY.PEEK[HEADER], BODY[TEXT]).
// - Header field names must be RFC 5322 §3.6.8 field names (printable ASCII but ":");
//   matching them is the session's job and is case-insensitive.
// - CHANGEDSINCE 0 is accepted (Dovecot does; RFC 7162 says mod-sequence-value >= 1).
//   CHANGEDSINCE does not add a MODSEQ item: the session must include MODSEQ in each
//   response when changed_since is set (RFC 7162 §3.1.4.1).
// - VANISHED needs CHANGEDSINCE (RFC 7162 §3.2.6). Whether it is allowed at all (UID FETCH
//   only, QRESYNC enabled) is for the session: the parser does not know the verb.
// - Limits: at most max_fetch_items items, max_header_fields field names in one list and
//   max_section_depth part numbers in one section.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/imap/tokenizer.hpp"

namespace postern::proto::imap {

inline constexpr size_t max_fetch_items = 1000;
inline constexpr size_t max_header_fields = 1000;
inline constexpr size_t max_section_depth = 100;

struct section_spec {
  std::vector<uint32_t> part;  // "1.2.3": {1, 2, 3}; empty for the whole message
  enum class text { all, header, header_fields, header_fields_not, text, mime } what = text::all;
  std::vector<std::string> fields;  // as sent, for echo; matching is case-insensitive
};

struct partial_range {
  uint64_t offset = 0;
  uint64_t length = 0;  // never 0
};

struct fetch_att {
  enum class kind {
    flags,
    internaldate,
    rfc822_size,
    rfc822,
    rfc822_header,
    rfc822_text,
    envelope,
    body_structure_short,  // BODY with no section
    bodystructure,
    uid,
    modseq,
    savedate,
    emailid,
    threadid,
    body_section,
    binary,
    binary_size,
    preview  // RFC 8970; "PREVIEW (LAZY)" too: this server always has it at hand
  } what = kind::flags;
  bool peek = false;  // BODY.PEEK, BINARY.PEEK, RFC822.HEADER
  section_spec section;
  std::optional<partial_range> partial;  // only body_section and binary
  std::string response_name;             // as named in the FETCH response (RFC 9051 §7.5.2)
};

struct fetch_request {
  sequence_set set;
  std::vector<fetch_att> items;  // macros expanded; never empty
  std::optional<uint64_t> changed_since;
  bool vanished = false;
};

read_result<fetch_request> parse_fetch(std::string_view args);

// The text between the brackets of a section as a response names it: "", "1.2",
// "HEADER", "3.HEADER.FIELDS (Subject From)", "1.MIME".
std::string section_text(const section_spec& section);

}  // namespace postern::proto::imap
