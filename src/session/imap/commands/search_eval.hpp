// SEARCH's evaluation of search keys over the selected folder, shared by
// SEARCH, SORT and THREAD (RFC 5256: both take SEARCH's keys).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "proto/imap/search_keys.hpp"
#include "proto/imap/sort_args.hpp"
#include "session/imap/state.hpp"

namespace postern::session::imap {

struct search_match {
  uint32_t seq = 0, uid = 0;
  uint64_t size = 0, modseq = 0;
  int64_t internal_date = 0;
  uint8_t relevancy = 100;  // RFC 6203: the best score of its FUZZY keys, 1-100
};
struct search_found {
  std::vector<search_match> hits;  // in sequence order
  uint64_t top_modseq = 0;         // the highest modseq among them
};

// The messages of the selected folder, as the session sees them, that match
// `root`; off the I/O thread when a key reads messages (text, sent dates).
// With `only` (UIDs, ascending), just those messages are looked at: an
// UPDATE context (RFC 5267 §4.3) asks about the ones that changed.
net::awaitable<search_found> find_matches(session& s, const proto::imap::search_key& root,
                                          const std::vector<uint32_t>* only = nullptr);

// The indexes of found.hits in SORT's order for `criteria` (RFC 5256 §3),
// from the sort keys the store kept at delivery; nullopt when the store
// cannot read them.
net::awaitable<std::optional<std::vector<size_t>>> sort_order(
    session& s, const search_found& found,
    const std::vector<proto::imap::sort_criterion>& criteria);

// RFC 5267 §4.4 / RFC 9394 §3.1: the [begin, end) positions (0-based) of a
// result of n numbers that a PARTIAL range covers, from the end when negative
// (-1 is the last); clipped to the result.
std::pair<size_t, size_t> partial_window(const proto::imap::search_partial_range& r, size_t n);

// Whether SEARCH, SORT or THREAD can use this charset; if not, sends the
// tagged NO [BADCHARSET] (RFC 9051 §6.4.4) and returns false.
bool charset_supported(session& s, const std::string& charset);

}  // namespace postern::session::imap
