// Small helpers shared by the IMAP argument parsers (fetch_items, store_args,
// search_keys) on top of cursor. Internal to proto/imap: not part of any parser's
// contract. Pure, no I/O, no exceptions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "proto/imap/tokenizer.hpp"

namespace postern::proto::imap::detail {

// `s` escaped with base::printable (at most 24 bytes) between double quotes.
std::string quote(std::string_view s);

// "(found ...)", worded as cursor's own errors are: what the client sent instead.
std::string found(const cursor& c);

// A syntax_error at the cursor's offset.
syntax_error error_at(const cursor& c, std::string words);
// "expected <what> [<where>] (found ...)" at the cursor's offset.
syntax_error expected_at(const cursor& c, std::string_view what, std::string_view where = {});

// The atom at the cursor (empty when there is none), without moving it.
std::string_view peek_atom(const cursor& c);

// Moves the cursor `n` bytes forward; the caller has seen those bytes in rest().
void advance(cursor& c, size_t n);

// The arguments are used up: nothing more, or only the final CRLF (or LF). The caller
// usually strips the CRLF; both forms are accepted.
checked finish(cursor& c);

bool is_digit(char c);

}  // namespace postern::proto::imap::detail
