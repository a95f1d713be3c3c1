// STORE arguments (RFC 9051 §6.4.6, §9 "store"; RFC 7162 §3.1.3 UNCHANGEDSINCE) and the
// flag grammar that APPEND shares (RFC 9051 §9 "flag", "flag-list"). Pure: no I/O, no
// exceptions, thread-safe.
//
// Contract:
// - parse_store takes everything after "STORE " (or "UID STORE "), with or without the
//   final CRLF (or LF). Errors are syntax_errors for the tagged BAD reply, client bytes
//   escaped. The result owns its strings.
// - read_flag and read_flag_list leave the cursor where it was when they fail.
//
// Decisions (as Dovecot decides them):
// - System flags are matched case-insensitively and returned in their canonical spelling
//   ("\seen" -> "\Seen"); keywords are returned as sent. Any other "\" flag is refused,
//   \Recent included: no client may set it (RFC 3501 §2.3.2; IMAP4rev2 dropped it).
// - Keywords are atoms (RFC 9051 §9 flag-keyword); duplicates are kept as sent.
// - UNCHANGEDSINCE takes mod-sequence-valzer, so 0 is valid (RFC 7162 §3.1.3).
// - At most max_store_flags flags in one list.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/imap/tokenizer.hpp"

namespace postern::proto::imap {

inline constexpr size_t max_store_flags = 1000;

struct store_request {
  sequence_set set;
  std::optional<uint64_t> unchanged_since;
  enum class op { replace, add, remove } how = op::replace;  // FLAGS, +FLAGS, -FLAGS
  bool silent = false;                                       // ".SILENT"
  std::vector<std::string> flags;  // e.g. "\\Seen", "$Forwarded"; may be empty for "()"
};

read_result<store_request> parse_store(std::string_view args);

// flag = "\Answered" / "\Flagged" / "\Deleted" / "\Seen" / "\Draft" / flag-keyword
read_result<std::string> read_flag(cursor& c);

// flag-list = "(" [flag *(SP flag)] ")"
read_result<std::vector<std::string>> read_flag_list(cursor& c);

}  // namespace postern::proto::imap
