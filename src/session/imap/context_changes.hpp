// What an UPDATE context (RFC 5267 §4.3) tells its client when the result
// of its SEARCH or SORT changes: REMOVEFROM and ADDTO pairs of a context
// position and the numbers removed or inserted there, which turn the old
// result into the new one when the client applies them in order (§4.3.2).
// Pure: numbers in, changes out; the session maps UIDs to what it sends.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace postern::session::imap {

struct context_change {
  bool add = false;             // ADDTO, else REMOVEFROM
  uint32_t position = 0;        // 1-based; 0 for SEARCH results (mailbox order, §4.3.3)
  std::vector<uint32_t> items;  // in the requested order
};

// SEARCH results, both in ascending order: one REMOVEFROM and one ADDTO at
// position 0 (§4.3.3, §4.3.4: "servers are RECOMMENDED to order the result
// update into mailbox order").
std::vector<context_change> unsorted_changes(const std::vector<uint32_t>& before,
                                             const std::vector<uint32_t>& after);

// SORT results in sort order. The messages in both keep their relative
// order when their sort keys do not change, so the changes are runs of
// removals at their positions, then runs of insertions at their final
// positions (ascending, so every earlier one is in place). Should that order
// differ (a score changed), the whole result is replaced.
std::vector<context_change> sorted_changes(const std::vector<uint32_t>& before,
                                           const std::vector<uint32_t>& after);

// What a client does with the changes (§4.3.3, §4.3.4): used by the tests,
// and the reference the two functions above are checked against.
std::vector<uint32_t> apply_changes(std::vector<uint32_t> result,
                                    const std::vector<context_change>& changes);

// " REMOVEFROM (0 3:5) ADDTO (1 7,9)": the data items of one ESEARCH
// response, each number passed through `shown` (a UID, or its sequence
// number). Empty when there are no changes.
std::string format_changes(const std::vector<context_change>& changes,
                           const std::function<uint32_t(uint32_t)>& shown);

}  // namespace postern::session::imap
