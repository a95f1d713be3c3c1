#include "session/imap/context_changes.hpp"

#include <algorithm>
#include <unordered_set>

#include "session/imap/sequence.hpp"

namespace postern::session::imap {

namespace {

std::vector<uint32_t> ascending_difference(const std::vector<uint32_t>& a,
                                           const std::vector<uint32_t>& b) {
  std::vector<uint32_t> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

}  // namespace

std::vector<context_change> unsorted_changes(const std::vector<uint32_t>& before,
                                             const std::vector<uint32_t>& after) {
  std::vector<context_change> out;
  auto removed = ascending_difference(before, after);
  auto added = ascending_difference(after, before);
  if (!removed.empty()) out.push_back({false, 0, std::move(removed)});
  if (!added.empty()) out.push_back({true, 0, std::move(added)});
  return out;
}

std::vector<context_change> sorted_changes(const std::vector<uint32_t>& before,
                                           const std::vector<uint32_t>& after) {
  std::unordered_set<uint32_t> in_before(before.begin(), before.end());
  std::unordered_set<uint32_t> in_after(after.begin(), after.end());
  std::vector<uint32_t> kept_before, kept_after;
  for (auto n : before)
    if (in_after.count(n)) kept_before.push_back(n);
  for (auto n : after)
    if (in_before.count(n)) kept_after.push_back(n);
  std::vector<context_change> out;
  if (kept_before != kept_after) {
    if (!before.empty()) out.push_back({false, 1, before});
    if (!after.empty()) out.push_back({true, 1, after});
    return out;
  }
  // Removals: a run of removed numbers goes from the position its first one
  // holds once the runs before it are gone, i.e. one past the kept ones.
  uint32_t kept = 0;
  for (size_t i = 0; i < before.size();) {
    if (in_after.count(before[i])) {
      ++kept;
      ++i;
      continue;
    }
    context_change run{false, kept + 1, {}};
    for (; i < before.size() && !in_after.count(before[i]); ++i) run.items.push_back(before[i]);
    out.push_back(std::move(run));
  }
  // Insertions at their final positions.
  for (size_t j = 0; j < after.size();) {
    if (in_before.count(after[j])) {
      ++j;
      continue;
    }
    context_change run{true, static_cast<uint32_t>(j + 1), {}};
    for (; j < after.size() && !in_before.count(after[j]); ++j) run.items.push_back(after[j]);
    out.push_back(std::move(run));
  }
  return out;
}

std::vector<uint32_t> apply_changes(std::vector<uint32_t> result,
                                    const std::vector<context_change>& changes) {
  for (auto& c : changes) {
    if (c.position == 0) {
      // Wherever they are, keeping mailbox order.
      if (c.add) {
        result.insert(result.end(), c.items.begin(), c.items.end());
        std::sort(result.begin(), result.end());
      } else {
        std::unordered_set<uint32_t> gone(c.items.begin(), c.items.end());
        std::erase_if(result, [&](uint32_t n) { return gone.count(n) != 0; });
      }
      continue;
    }
    size_t at = std::min<size_t>(c.position - 1, result.size());
    if (c.add) {
      result.insert(result.begin() + static_cast<std::ptrdiff_t>(at), c.items.begin(),
                    c.items.end());
    } else {
      // §4.3.4: the first item is at the position; each must be where it is said to be.
      for (auto n : c.items) {
        if (at < result.size() && result[at] == n)
          result.erase(result.begin() + static_cast<std::ptrdiff_t>(at));
        else
          return {UINT32_MAX};  // a change that does not fit: never a right answer
      }
    }
  }
  return result;
}

std::string format_changes(const std::vector<context_change>& changes,
                           const std::function<uint32_t(uint32_t)>& shown) {
  std::string out;
  // Consecutive changes of one kind share a data item: "ADDTO (1 3 5 8:9)".
  for (size_t i = 0; i < changes.size();) {
    bool add = changes[i].add;
    out += add ? " ADDTO (" : " REMOVEFROM (";
    for (size_t first = i; i < changes.size() && changes[i].add == add; ++i) {
      if (i > first) out += ' ';
      std::vector<uint32_t> numbers;
      numbers.reserve(changes[i].items.size());
      for (auto n : changes[i].items) numbers.push_back(shown(n));
      out += std::to_string(changes[i].position) + ' ' + ordered_set(numbers);
    }
    out += ')';
  }
  return out;
}

}  // namespace postern::session::imap
