// SORT and THREAD arguments (RFC 5256 §5; RFC 5957 §5 DISPLAYFROM, DISPLAYTO; RFC 5267 §3
// ESORT RETURN options and §4 CONTEXT=SORT PARTIAL, with RFC 9394's ranges from the end;
// RFC 6203 §6 RELEVANCY). Pure: no I/O, no exceptions, thread-safe.
//
// Contract:
// - parse_sort takes everything after "SORT " (or "UID SORT "), parse_thread everything
//   after "THREAD " (or "UID THREAD "), with or without the final CRLF (or LF). Literals
//   ({n}CRLF<bytes>) are part of `args`.
// - Errors are syntax_errors for the tagged BAD reply, naming what was expected and what
//   was found; client bytes escaped. The result owns its strings.
// - The search keys are SEARCH's (search_keys.hpp), with its limits (max_search_depth,
//   max_search_keys) and decisions (FUZZY, dates, MODSEQ...); at most max_sort_criteria
//   sort criteria.
//
// Decisions:
// - extended-sort = ["UID" SP] "SORT" search-return-opts SP sort-criteria SP
//   search-criteria (RFC 5267 §5): RETURN comes first, before the criteria. Its options
//   are SEARCH's, with the same checks (PARTIAL once and not with ALL,
//   RELEVANCY only with a FUZZY key); "RETURN ()" sets ret_all (RFC 5267 §3.3). SAVE is
//   accepted: RFC 5182 §1 lets any command based on SEARCH save its result.
// - The charset is mandatory and has no CHARSET word before it (RFC 5256 §3). The RFC's
//   grammar says atom / quoted; a literal is accepted too, as SEARCH's CHARSET is here
//   (Dovecot reads an astring). It is returned as sent; whether it is supported, "" included,
//   is the session's call (NO [BADCHARSET]). A charset spelled "CHARSET" is refused: that
//   is a client writing SEARCH's syntax.
// - Sort keys are atoms, case-insensitive; a quoted one is refused. The same key may repeat
//   (harmless, as the RFC does not forbid it). RELEVANCY needs a FUZZY search key
//   (RFC 6203 §6: MUST NOT otherwise).
// - THREAD's algorithm is ORDEREDSUBJECT or REFERENCES (RFC 5256 §3), or REFS (the
//   references algorithm without subject grouping, draft-ietf-morg-inthread, as Dovecot
//   offers it); any other atom is refused naming it. THREAD takes no RETURN options.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "proto/imap/search_keys.hpp"
#include "proto/imap/tokenizer.hpp"

namespace postern::proto::imap {

inline constexpr size_t max_sort_criteria = 16;

// sort-criterion = ["REVERSE" SP] sort-key (RFC 5256 §5)
struct sort_criterion {
  enum class key {
    arrival,      // internal date
    cc,           // first Cc addr-mailbox
    date,         // sent date
    from,         // first From addr-mailbox
    size,         // RFC822.SIZE
    subject,      // base subject (RFC 5256 §2.1)
    to,           // first To addr-mailbox
    displayfrom,  // first From display name (RFC 5957 §3)
    displayto,    // first To display name (RFC 5957 §3)
    relevancy     // FUZZY score, highest first (RFC 6203 §6)
  } what = key::arrival;
  bool reverse = false;
  bool operator==(const sort_criterion&) const = default;
};

struct sort_request : search_return {
  std::vector<sort_criterion> criteria;  // 1 to max_sort_criteria, most significant first
  std::string charset;                   // as sent, mandatory
  search_key root;                       // kind::and_ of the top-level keys
};

read_result<sort_request> parse_sort(std::string_view args);

enum class thread_algorithm { orderedsubject, references, refs };

struct thread_request {
  thread_algorithm algorithm = thread_algorithm::references;
  std::string charset;  // as sent, mandatory
  search_key root;      // kind::and_ of the top-level keys
};

read_result<thread_request> parse_thread(std::string_view args);

}  // namespace postern::proto::imap
