// Mailbox names from the client (RFC 9051 §5.1): modified UTF-7 decoded to
// UTF-8 (or UTF-8 as sent under UTF8=ACCEPT), INBOX in any case as INBOX,
// "/" as the hierarchy separator. Names with control characters, empty
// levels or of absurd length are refused with [CANNOT] and the reason; a
// name is only ever a key in the index, never part of a file path.
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "proto/imap/tokenizer.hpp"
#include "session/imap/state.hpp"

namespace postern::session::imap {

inline constexpr size_t max_mailbox_name = 512;  // bytes of UTF-8
inline constexpr size_t max_mailbox_depth = 32;  // levels

struct name_refusal {
  bool syntax = false;  // BAD (the argument is not a mailbox at all) rather than NO [CANNOT]
  std::string words;
};

// Reads a mailbox argument; for names that will be created (`creating`)
// wildcards are refused too.
std::variant<std::string, name_refusal> read_mailbox(const session& s, proto::imap::cursor& c,
                                                     bool creating = false);

// Answers a refused name: BAD for a syntax error, NO [CANNOT] otherwise.
void refuse(session& s, const name_refusal& r);

// The parents "a", "a/b" of "a/b/c".
std::vector<std::string> parents_of(std::string_view name);

}  // namespace postern::session::imap
