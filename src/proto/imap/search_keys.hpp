// SEARCH arguments (RFC 9051 §6.4.4, §9 "search"; RFC 3501 NEW, OLD, RECENT; RFC 4731
// RETURN MIN MAX ALL COUNT; RFC 5182 SAVE; RFC 5267 §4 RETURN CONTEXT and PARTIAL; RFC 9394
// PARTIAL from the end; RFC 6203 FUZZY and RETURN RELEVANCY; RFC 7162 §3.1.5 MODSEQ;
// RFC 8514 SAVED*; RFC 8474 EMAILID, THREADID; RFC 5032 OLDER, YOUNGER). Pure: no I/O, no
// exceptions, thread-safe.
//
// Contract:
// - parse_search takes everything after "SEARCH " (or "UID SEARCH "), with or without the
//   final CRLF (or LF). Literals ({n}CRLF<bytes>) are part of `args`.
// - Errors are syntax_errors for the tagged BAD reply, naming what was expected and what
//   was found; client bytes escaped. The result owns its strings.
// - Limits: keys nested at most max_search_depth deep (each NOT, OR, FUZZY and
//   parenthesized list is one level), at most max_search_keys keys in all (FUZZY counts as
//   one).
// - read_search_return and read_search_keys are the same grammar for the commands that
//   embed it (SORT and THREAD, sort_args.hpp); they leave the cursor where they stopped.
//
// Decisions (as Dovecot decides them):
// - root is always kind::and_ holding the top-level keys in order, even a single one; a
//   parenthesized list is an and_ too.
// - "RETURN ()" sets ret_all (RFC 4731 §3.1); "RETURN (SAVE)" alone sets only ret_save
//   (RFC 5182 §2.4). Unknown RETURN options are refused; repeated ones are accepted, except
//   that PARTIAL may appear once and never with ALL (RFC 9394 §3.1, RFC 5267 §4.4).
// - PARTIAL takes two non-zero 32-bit numbers of the same sign (RFC 9394 §4); either order
//   is accepted and normalised so that |first| <= |last|: "500:400" gives 400..500 and
//   "-100:-1" gives -1..-100. "*" and mixed signs are refused.
// - CONTEXT (RFC 5267 §4.2) is a hint the server may ignore: accepted and recorded. UPDATE
//   (RFC 5267 §4.3) is recorded; the session keeps the context and sends ADDTO/REMOVEFROM.
// - FUZZY (RFC 6203 §3) marks the key after it and every key inside that key (NOT, OR, a
//   parenthesized list: "FUZZY (FROM x SINCE d)" is fuzzy throughout), so a matcher looks
//   only at the key it matches. It is accepted before any key; for non-string keys the
//   server may match exactly (RFC 6203 §5). RETURN (RELEVANCY) without any FUZZY key is
//   refused (RFC 6203 §4: MUST NOT).
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
#include <optional>
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
  bool fuzzy = false;                // under FUZZY (RFC 6203 §3): this key or one enclosing it
};

// PARTIAL's range (RFC 5267 §4.4, RFC 9394 §3.1): 1-based positions in the result, or
// negative ones counting from its end (-1 is the last). first and last have the same
// sign, are never 0, and |first| <= |last|, each at most 2^32 - 1 in magnitude.
struct search_partial_range {
  int64_t first = 0;
  int64_t last = 0;
  bool operator==(const search_partial_range&) const = default;
};

// The RETURN options of SEARCH (RFC 4731 §3.1) and of SORT (ESORT, RFC 5267 §3.1).
struct search_return {
  bool has_return = false;  // RETURN (...) given
  bool ret_min = false, ret_max = false, ret_all = false, ret_count = false, ret_save = false;
  bool ret_relevancy = false;                   // RFC 6203 §4; only with a FUZZY key
  bool ret_context = false;                     // RFC 5267 §4.2: a hint, may be ignored
  bool ret_update = false;                      // RFC 5267 §4.3: notify changes to the result
  std::optional<search_partial_range> partial;  // never together with ret_all
};

struct search_request : search_return {
  std::string charset;  // "" when none given
  search_key root;      // kind::and_ of the top-level keys
};

read_result<search_request> parse_search(std::string_view args);

// Which command the keys are in, for the words of errors about misplaced RETURN and CHARSET.
enum class search_command { search, sort, thread };

// search-return-opts without its leading SP: "RETURN" SP "(" [opt *(SP opt)] ")" at the
// cursor (the caller has seen the RETURN atom). Sets has_return and the options.
checked read_search_return(cursor& c, search_return& ret);

// search-key *(SP search-key) as a kind::and_ root, up to the first byte that cannot
// continue them; the caller checks what follows. Keeps the max_search_* limits.
read_result<search_key> read_search_keys(cursor& c, search_command in);

// True when `k` or a key inside it is under FUZZY.
bool has_fuzzy(const search_key& k);

// date-text = date-day "-" date-month "-" date-year (RFC 9051 §9), as days since
// 1970-01-01; false when `text` is not a valid date.
bool parse_search_date(std::string_view text, int64_t& days);

}  // namespace postern::proto::imap
