// Sequence sets against a session's selected folder (RFC 9051 §9
// sequence-set, §6.4.8 UID): which messages a command means, as UIDs in
// sequence order.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "proto/imap/tokenizer.hpp"
#include "session/imap/state.hpp"

namespace postern::session::imap {

struct resolved_set {
  std::vector<uint32_t> uids;  // in sequence order, no duplicates
  std::string error;           // non-empty: the reply's words (BAD)
};

// By sequence number (`by_uid` false) or by UID. Sequence numbers beyond the
// folder are an error (RFC 9051 §9 seq-number); UIDs that are not there are
// simply not matched (§6.4.8).
resolved_set resolve(const selected_folder& sel, const proto::imap::sequence_set& set, bool by_uid);

// "1:3,7" for a sorted list of numbers.
std::string compress_set(std::vector<uint32_t> numbers);

// A sequence-set of numbers in the order given: runs of consecutive ascending
// numbers become ranges, the order is kept (RFC 5267 §3.2: "7,3:4,1").
std::string ordered_set(const std::vector<uint32_t>& numbers);

// Appends " n" for each number, in order: the body of an untagged SEARCH or
// SORT answer (RFC 9051 §7.3.4, RFC 5256 §4), which may hold 100,000 of them.
void append_numbers(std::string& out, const std::vector<uint32_t>& numbers);

}  // namespace postern::session::imap
