// SEARCH arguments (RFC 9051 §6.4.4, §9 "search"; RFC 3501 NEW, OLD, RECENT; RFC 4731
// RETURN MIN MAX ALL COUNT; RFC 5182 SAVE; RFC 7162 §3.1.5 MODSEQ; RFC 8514 SAVED*;
// RFC 8474 EMAILID, THREADID; RFC 5032 OLDER, YOUNGER). Pure: no I/O, no exceptions,
// thread-safe.
//
// Contract:
// - parse_search takes everything after "SEARCH " (or "UID SEARCH "), with or without the
//   final CRLF (or LF). Literals ({n}CRLF<bytes>) are part of `args`.
// - Errors are syntax_errors for the tagged BAD reply, naming what was expected and what
//   was found; client bytes escaped. The result owns its strings.
// - Limits: keys nested at most max_search_depth deep (each NOT, OR and parenthesized
//   list is one level), at most max_search_keys keys in all.
//
// Decisions (as Dovecot decides them):
// - root is always kind::and_ holding the top-level keys in order, even a single one; a
//   parenthesized list is an and_ too.
// - "RETURN ()" sets ret_all (RFC 4731 §3.1); "RETURN (SAVE)" alone sets only ret_save
//   (RFC 5182 §2.4). Unknown RETURN options are refused; repeated ones are accepted.
// - CHARSET is returned as sent (atom, quoted string or literal); whether it is supported
//   is the session's call ([BADCHARSET], RFC 9051 §6.4.4).
// - Dates are day-month-year with a 1- or 2-digit day and a 4-digit year, as an atom,
//   quoted string or literal; the month is case-insensitive; impossible days (30-Feb) are
//   refused. `date` counts days from 1970-01-01 (negative before).
// - KEYWORD and UNKEYWORD take an atom; system flags ("\Seen") are refused there.
// - MODSEQ's optional entry name must be a string starting "/flags/" and its type one of
//   priv, shared, all; both are checked and then ignored. Its value may be 0.
// - EMAILID and THREADID take 1 to 255 letters, digits, "_" or "-" (RFC 8474 §5.1).
// - OLDER and YOUNGER take a non-zero 32-bit number of seconds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proto/imap/tokenizer.hpp"

namespace postern::proto::imap {

inline constexpr size_t max_search_depth = 64;
inline constexpr size_t max_search_keys = 10000;

struct search_key {
  enum class kind {
    all,
    answered,
    bcc,
    before,
    body,
    cc,
    deleted,
    draft,
    flagged,
    from,
    header,
    keyword,
    larger,
    new_,
    not_,
    old,
    on,
    or_,
    recent,
    seen,
    sentbefore,
    senton,
    sentsince,
    since,
    smaller,
    subject,
    text,
    to,
    uid,
    unanswered,
    undeleted,
    undraft,
    unflagged,
    unkeyword,
    unseen,
    sequence,
    and_,
    modseq,
    savedbefore,
    savedon,
    savedsince,
    savedatesupported,
    emailid,
    threadid,
    older,
    younger
  } what = kind::all;
  std::string text;     // string argument, header field name for HEADER, keyword, object id
  std::string value;    // header value for HEADER
  uint64_t number = 0;  // LARGER/SMALLER/MODSEQ/OLDER/YOUNGER
  int64_t date = 0;     // days since 1970-01-01 of a date argument
  sequence_set set;     // UID and sequence
  std::vector<search_key> children;  // NOT: 1, OR: 2, and_: 1 or more
};

struct search_request {
  bool has_return = false;  // RETURN (...) given
  bool ret_min = false, ret_max = false, ret_all = false, ret_count = false, ret_save = false;
  std::string charset;  // "" when none given
  search_key root;      // kind::and_ of the top-level keys
};

read_result<search_request> parse_search(std::string_view args);

// date-text = date-day "-" date-month "-" date-year (RFC 9051 §9), as days since
// 1970-01-01; false when `text` is not a valid date.
bool parse_search_date(std::string_view text, int64_t& days);

}  // namespace postern::proto::imap
