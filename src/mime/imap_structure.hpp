// IMAP FETCH ENVELOPE, BODY and BODYSTRUCTURE (RFC 9051 §7.5.2, §9) formatted
// from a message_structure alone: no byte of the message is read again.
//
// Pure functions: no I/O, no shared state; safe from any thread. They never fail:
// whatever the header says, the result follows the RFC 9051 §9 grammar (and the
// RFC 3501 one: strings with 8-bit bytes are literals, which both allow).
//
// Choices where the RFCs leave room (Dovecot's where it has one):
// - Strings are quoted when they are at most 1024 bytes of US-ASCII without CR or
//   LF (" and \ escaped), else sent as a literal "{n}\r\n" + bytes. A NUL, which no
//   IMAP string may hold, becomes U+FFFD.
// - Media type, subtype, encoding, disposition type and parameter names are sent
//   upper-case (the index keeps them lower-case; RFC 2045 §5.1 makes them
//   case-insensitive), parameter values as they are.
// - A text part without a charset parameter gets ("CHARSET" "US-ASCII") (RFC 2046
//   §4.1.2 default), as in Dovecot.
// - A parameter value with non-ASCII bytes (after RFC 2231 decoding to UTF-8) is
//   sent RFC 2231 encoded as NAME* "utf-8''..." (RFC 9051 §7.5.2 for a client that
//   has not enabled UTF8=ACCEPT).
// - A multipart without children (no boundary, no delimiter found) still gets the
//   one body RFC 9051 §9 requires: an empty text/plain part, as Dovecot sends.
// - A message/rfc822 or message/global part without a parsed inner message (base64
//   or quoted-printable encoded, too deep, cut short) gets an envelope of NILs and
//   that empty text/plain body, so clients that expect the message form parse it.
// - Addresses: display names and group names keep RFC 2047 encoded words as they
//   are (the client decodes); quoted strings are unescaped, comments dropped, runs
//   of white space become one space. A quoted local part is sent unescaped. An
//   address without a domain gets host "MISSING_DOMAIN" (and without a local part,
//   mailbox "MISSING_MAILBOX"), as Dovecot does: a NIL host would read as a group
//   marker. An obsolete route (<@a,@b:user@host>) is the adl "@a,@b".
// - Sender and Reply-To fall back to From when absent or empty (RFC 9051 §7.5.2).
//   Date, Subject, In-Reply-To and Message-ID are NIL when absent; the index does
//   not tell absent from empty, which RFC 9051 lets clients treat alike.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "mime/message_structure.hpp"

namespace postern::mime {

// Appends `s` as an IMAP string: quoted when it can be, else a literal.
void append_imap_string(std::string& out, std::string_view s);
// The same, but NIL when `s` is empty.
void append_imap_nstring(std::string& out, std::string_view s);

// Header field values of one message, unfolded and raw (as message_structure
// keeps them); "" when absent.
struct envelope_fields {
  std::string_view date, subject, from, sender, reply_to, to, cc, bcc, in_reply_to, message_id;
};

// RFC 9051 §7.5.2 ENVELOPE: ("date" "subject" (from) (sender) (reply-to) (to) (cc)
// (bcc) "in-reply-to" "message-id").
std::string imap_envelope(const envelope_fields& f);
std::string imap_envelope(const message_structure& s);

// Appends an RFC 5322 §3.4 address-list (or mailbox-list) as the parenthesized
// list of address structures of an envelope, or NIL when it holds no address.
void append_imap_address_list(std::string& out, std::string_view header_value);

// The first mailbox of an address list (groups walked into), as the ENVELOPE
// would show it: display name still RFC 2047 encoded, local part and domain
// as written. For SORT's address keys (RFC 5256 §3, RFC 5957 §3).
struct mailbox_address {
  std::string name, mailbox, host;
};
std::optional<mailbox_address> first_mailbox(std::string_view header_value);

// RFC 9051 §7.5.2 BODYSTRUCTURE (extended = true: with extension data) or BODY
// (extended = false) of the whole message. A structure from a version-1 index row
// (legacy_format) lacks the extension fields and inner envelopes; they come out NIL.
std::string imap_bodystructure(const message_structure& s, bool extended);

}  // namespace postern::mime
