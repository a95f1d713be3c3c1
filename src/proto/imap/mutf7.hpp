// Modified UTF-7 mailbox names (RFC 3501 §5.1.3, kept by RFC 9051 §5.1.3 for clients
// that have not enabled UTF8=ACCEPT). Pure: no I/O, no exceptions, thread-safe.
//
// Decisions (as Dovecot's lib-imap/imap-utf7.c decides them):
// - Only the canonical form is accepted, so decode and encode are inverses:
//   encode_mutf7(*decode_mutf7(x)) == x whenever decoding succeeds.
// - Refused: 8-bit bytes, control characters and DEL sent raw (only printable US-ASCII
//   represents itself), an "&" run with no closing "-", characters outside the modified
//   base64 alphabet (A-Z a-z 0-9 + ,), a run whose bit count leaves a whole base64
//   character or a partial UTF-16 unit over, non-zero padding bits, printable US-ASCII
//   (including "&") encoded in base64, an encoded U+0000, unpaired UTF-16 surrogates,
//   and two shifted runs back to back ("&AMk-&AOk-": one run "&AMkA6Q-" is the only
//   canonical form; Dovecot refuses it too).
// - "&-" is the literal "&" and may appear anywhere, also right after a shifted run.
#pragma once

#include <string>
#include <string_view>

#include "proto/imap/tokenizer.hpp"

namespace postern::proto::imap {

// mUTF-7 -> UTF-8. The error's words are for a BAD/NO reply ("mailbox name ..."); its
// offset is the byte in `name` where the problem is. The result is valid UTF-8 with no NUL.
read_result<std::string> decode_mutf7(std::string_view name);

// UTF-8 -> mUTF-7. Meant for valid UTF-8 (names from the store); each byte that does not
// start a valid UTF-8 sequence becomes U+FFFD. Never fails.
std::string encode_mutf7(std::string_view utf8);

}  // namespace postern::proto::imap
