// Ranks of a folder's string sort keys: each message's place among the
// folder's distinct values of one key (base subject, first From address, ...),
// so SORT (RFC 5256 §3) compares two integers where it would compare two
// strings. Made once per key with one string sort of the folder's keys and
// kept with the store's sort table (sqlite_sort.cpp) until the folder changes:
// a SORT (SUBJECT) of 100,000 messages then costs what SORT (DATE) costs.
// Threads: any; the results are immutable.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mime/sort_record.hpp"

namespace postern::store {

// A message's SORT and THREAD keys (RFC 5256), as kept at delivery.
struct sorted_message {
  uint32_t uid = 0;
  mime::sort_record keys;
};

// The string keys SORT compares (RFC 5256 §3 and RFC 5957 §3).
enum class sort_string : uint8_t { subject, from, to, cc, display_from, display_to };
inline constexpr size_t sort_string_count = 6;

const std::string& sort_string_of(const mime::sort_record& r, sort_string key);

// rank[i] is rows[i]'s rank under `key`: equal strings (octet by octet, as
// RFC 5256 compares the folded keys) share a rank, a greater string has a
// greater rank, and "" (no such field) has rank 0, below every other.
// order lists the row indexes by ascending (rank, index): rows are in UID
// order, so that is SORT's order for this one key over the whole folder
// (RFC 5256 §3: ties go to mailbox order), and a SORT by it walks `order`
// instead of sorting.
struct key_ranks {
  std::vector<uint32_t> rank;
  std::vector<uint32_t> order;
};
key_ranks make_ranks(const std::vector<sorted_message>& rows, sort_string key);

using sort_ranks = std::shared_ptr<const key_ranks>;

}  // namespace postern::store
