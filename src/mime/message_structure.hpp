// The structure of one RFC 5322 message, parsed once at delivery and kept in
// the index so that no protocol re-parses a message to answer TOP, FETCH
// BODYSTRUCTURE or SEARCH.
//
// Thread safety: parse() may be called from any thread concurrently.
// Errors: parse() never fails; malformed input yields a best-effort structure
// (a message with no blank line is all header, as RFC 5322 reads it).
//
// Shape of `parts` (RFC 9051 §6.4.5 numbering):
// - Depth-first, parents first. A multipart's children are "<s>.1", "<s>.2", ...
//   ("1", "2", ... under the message itself).
// - The entity after a message/rfc822 (or message/global) part "<n>" is its
//   encapsulated message: section "<n>.1" when that is single-part; when it is a
//   multipart, which IMAP gives no number, it repeats "<n>" and its children are
//   "<n>.1", ... Its header is that message's RFC 5322 header (<n>.HEADER). A
//   message/rfc822 part that is base64 or quoted-printable encoded has no child.
// - A multipart's body is everything after its blank line: preamble, parts,
//   delimiters and epilogue, up to its parent's next delimiter (RFC 2046 §5.1.1,
//   whose line break belongs to that delimiter). A multipart may have no
//   children (no delimiter found, or no boundary parameter).
// - A part whose header a delimiter cuts short has body_offset at the end of
//   that header and body_size 0.
// - At most 100 levels below the message and 10000 parts; deeper or further
//   content stays in the body of the entity that holds it.
// - charset, boundary and name are unquoted; RFC 2231 (and encoded-word) name
//   parameters are decoded to UTF-8 (GMime's parameter parser).
// - type_params and disposition_params hold every parameter of Content-Type and
//   Content-Disposition in header order, names lower-case, values unquoted and
//   RFC 2231 decoded (continuations joined, charset converted to UTF-8).
// - A message/rfc822 or message/global part whose encapsulated message is parsed
//   (identity encoding, within the depth and part caps) has `envelope` set to the
//   IMAP ENVELOPE of that message (RFC 9051 §7.5.2), ready to send; otherwise it
//   is empty and imap_bodystructure() sends an envelope of NILs.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace postern::mime {

// One MIME entity. Offsets are byte offsets into the whole message as stored.
struct part {
  std::string section;            // IMAP part specifier: "" for the message itself, "1", "1.2", ...
  std::string content_type;       // lower-case "type/subtype"; "text/plain" when absent
  std::string charset;            // content-type charset parameter, as given
  std::string boundary;           // multipart boundary, as given
  std::string name;               // content-type name or content-disposition filename
  std::string disposition;        // lower-case "inline" / "attachment" / ""
  std::string transfer_encoding;  // lower-case content-transfer-encoding; "7bit" when absent
  std::string content_id;
  std::string description;
  using params = std::vector<std::pair<std::string, std::string>>;
  params type_params;          // every Content-Type parameter (see above)
  params disposition_params;   // every Content-Disposition parameter
  std::string language;        // Content-Language, unfolded, raw (RFC 3282)
  std::string location;        // Content-Location, white space removed (RFC 2557 §4.4.2)
  std::string md5;             // Content-MD5, unfolded (RFC 1864)
  std::string envelope;        // message/rfc822, message/global: the inner message's ENVELOPE
  uint64_t header_offset = 0;  // first byte of this entity's header
  uint64_t body_offset = 0;    // first byte of its body (after the blank line)
  uint64_t body_size = 0;      // bytes of the body
  uint32_t body_lines = 0;     // lines in the body
};

struct message_structure {
  uint64_t header_size = 0;  // bytes of the top-level header including the blank line
  uint32_t body_lines = 0;   // lines in the top-level body
  // Top-level header fields, unfolded, raw (still RFC 2047 encoded), "" when absent.
  std::string subject, from, sender, reply_to, to, cc, bcc, date, message_id, in_reply_to;
  // Every entity depth-first, parents before children; parts[0] is the message itself.
  std::vector<part> parts;
  // Set by deserialize() when the text was written in format version 1, which
  // lacks type_params, disposition_params, language, location, md5 and envelope
  // (they are empty then). Re-parse the message to have them. Not serialized.
  bool legacy_format = false;
};

message_structure parse(std::string_view message);

// The same, reporting its progress through a large message: `progress(pos)`
// is called now and then during each of its two forward passes, with a
// position before which that pass reads nothing more (0 when a pass starts
// over). A caller parsing a memory-mapped file drops the pages behind it, so
// a 50 MB message never has to be resident at once.
using progress_fn = std::function<void(size_t pos)>;
message_structure parse(std::string_view message, const progress_fn& progress);

// A compact text form kept in the index; deserialize(serialize(s)) == s.
// serialize() writes format version 2; deserialize() reads versions 1 and 2 and
// returns false (leaving `out` untouched) on anything else or a truncated text.
std::string serialize(const message_structure& s);
bool deserialize(std::string_view text, message_structure& out);

}  // namespace postern::mime
