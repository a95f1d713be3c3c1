// Ranks of string sort keys (sort_ranks.hpp).
#include "store/sort_ranks.hpp"

#include <algorithm>
#include <string_view>
#include <utility>

namespace postern::store {

const std::string& sort_string_of(const mime::sort_record& r, sort_string key) {
  switch (key) {
    case sort_string::subject:
      return r.subject;
    case sort_string::from:
      return r.from;
    case sort_string::to:
      return r.to;
    case sort_string::cc:
      return r.cc;
    case sort_string::display_from:
      return r.display_from;
    case sort_string::display_to:
      return r.display_to;
  }
  return r.subject;
}

key_ranks make_ranks(const std::vector<sorted_message>& rows, sort_string key) {
  // The views sit side by side, so the sort touches only them and the
  // strings' bytes, not the records around them.
  std::vector<std::pair<std::string_view, uint32_t>> byvalue;
  byvalue.reserve(rows.size());
  for (size_t i = 0; i < rows.size(); ++i)
    byvalue.emplace_back(sort_string_of(rows[i].keys, key), static_cast<uint32_t>(i));
  std::sort(byvalue.begin(), byvalue.end());  // by value, then index
  key_ranks out;
  out.rank.assign(rows.size(), 0);
  out.order.reserve(rows.size());
  uint32_t rank = 0;
  for (size_t i = 0; i < byvalue.size(); ++i) {
    if (!byvalue[i].first.empty() && (i == 0 || byvalue[i].first != byvalue[i - 1].first)) ++rank;
    out.rank[byvalue[i].second] = rank;
    out.order.push_back(byvalue[i].second);
  }
  return out;
}

}  // namespace postern::store
