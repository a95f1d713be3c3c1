#include "session/imap/sequence.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace postern::session::imap {

resolved_set resolve(const selected_folder& sel, const proto::imap::sequence_set& set,
                     bool by_uid) {
  resolved_set out;
  if (set.saved_result) {
    // RFC 5182: "$" is the saved SEARCH result, kept as UIDs.
    for (auto uid : sel.saved_search)
      if (sel.seq_of(uid)) out.uids.push_back(uid);
    return out;
  }
  const auto& uids = sel.uids;
  if (by_uid) {
    uint32_t largest = uids.empty() ? 0 : uids.back();
    // RFC 9051 §6.4.8: "*" is the largest UID in use, so "5:*" matches it
    // even when 5 is above every UID; in an empty folder nothing matches.
    if (uids.empty()) return out;
    for (auto& r : proto::imap::normalize(set, largest)) {
      auto lo = std::lower_bound(uids.begin(), uids.end(), r.first);
      auto hi = std::upper_bound(uids.begin(), uids.end(), r.last);
      out.uids.insert(out.uids.end(), lo, hi);
    }
    return out;
  }
  uint32_t n = static_cast<uint32_t>(uids.size());
  for (auto& r : set.ranges) {
    bool star = r.first == proto::imap::seq_star || r.last == proto::imap::seq_star;
    if (star && n == 0) {
      out.error = "No messages: \"*\" names no message in an empty mailbox";
      return out;
    }
    uint32_t a = r.first == proto::imap::seq_star ? n : r.first;
    uint32_t b = r.last == proto::imap::seq_star ? n : r.last;
    if (std::max(a, b) > n) {
      out.error =
          fmt::format("Invalid message sequence number {} (the mailbox has {})", std::max(a, b), n);
      return out;
    }
  }
  for (auto& r : proto::imap::normalize(set, n))
    for (uint32_t i = r.first; i <= r.last && i <= n; ++i) out.uids.push_back(uids[i - 1]);
  return out;
}

std::string compress_set(std::vector<uint32_t> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return ordered_set(v);
}

std::string ordered_set(const std::vector<uint32_t>& numbers) {
  std::string out;
  for (size_t i = 0; i < numbers.size();) {
    size_t j = i;
    while (j + 1 < numbers.size() && numbers[j + 1] == numbers[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += j > i ? fmt::format("{}:{}", numbers[i], numbers[j]) : fmt::format("{}", numbers[i]);
    i = j + 1;
  }
  return out;
}

void append_numbers(std::string& out, const std::vector<uint32_t>& numbers) {
  out.reserve(out.size() + numbers.size() * 7);
  char digits[16];
  for (auto n : numbers) {
    out += ' ';
    auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
    out.append(digits, end);
  }
}

}  // namespace postern::session::imap
