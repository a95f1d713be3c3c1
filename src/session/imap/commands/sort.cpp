// SORT and UID SORT (RFC 5256 §3, RFC 5957 DISPLAYFROM/DISPLAYTO, RFC 5267 §3
// ESORT's RETURN options and PARTIAL), THREAD and UID THREAD (RFC 5256 §3,
// REFS). The matching is SEARCH's (search_eval.hpp); the keys are the ones the
// store kept at delivery (mime::sort_record), read for the whole folder in
// one query, so neither command opens a message.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <iterator>
#include <unordered_map>

#include "base/strings.hpp"
#include "mime/threading.hpp"
#include "net/blocking.hpp"
#include "proto/imap/sort_args.hpp"
#include "session/imap/commands.hpp"
#include "session/imap/commands/search_eval.hpp"
#include "session/imap/contexts.hpp"
#include "session/imap/sequence.hpp"

namespace postern::session::imap {

namespace {

using criterion = proto::imap::sort_criterion;
using sort_key = criterion::key;

struct candidate {
  const search_match* match;
  const mime::sort_record* keys;
  int64_t sent_date;  // RFC 5256 §2.2: the internal date when Date is unusable
  uint32_t row;       // in the store's table; no_row when the table lacks it
};
constexpr uint32_t no_row = UINT32_MAX;

// The matched messages with their keys, read from the store's table (kept
// in memory there): hits and table are both in UID order, so one walk pairs
// them. A hit the table lacks (stored after it was read) sorts with empty keys.
// `ranks` holds, for each string key that `criteria` name, each row's rank
// (store/sort_ranks.hpp), so sorting compares integers.
struct keyed {
  store::mailbox::sort_table table;
  std::vector<candidate> list;
  std::array<store::sort_ranks, store::sort_string_count> ranks;
};

std::optional<store::sort_string> string_key(sort_key k) {
  switch (k) {
    case sort_key::subject:
      return store::sort_string::subject;
    case sort_key::from:
      return store::sort_string::from;
    case sort_key::to:
      return store::sort_string::to;
    case sort_key::cc:
      return store::sort_string::cc;
    case sort_key::displayfrom:
      return store::sort_string::display_from;
    case sort_key::displayto:
      return store::sort_string::display_to;
    default:
      return std::nullopt;
  }
}

net::awaitable<std::optional<keyed>> read_keys(session& s, const search_found& found,
                                               const std::vector<criterion>& criteria = {}) {
  std::vector<store::sort_string> wanted;
  for (auto& c : criteria)
    if (auto k = string_key(c.what)) wanted.push_back(*k);
  auto mb = s.mailbox;
  auto folder = s.selected->name;
  using ranks_array = std::array<store::sort_ranks, store::sort_string_count>;
  using read_result = std::optional<std::pair<store::mailbox::sort_table, ranks_array>>;
  auto read = [mb, folder, wanted]() -> read_result {
    auto table = mb->sort_records(folder);
    if (!table) return std::nullopt;
    ranks_array ranks;
    for (auto k : wanted) {
      auto r = mb->sort_key_ranks(folder, *table, k);
      if (!r) return std::nullopt;
      ranks[static_cast<size_t>(k)] = std::move(*r);
    }
    return std::pair{std::move(*table), std::move(ranks)};
  };
  auto got = co_await net::run_reading(std::move(read));
  if (!got) co_return std::nullopt;
  static const mime::sort_record none;
  keyed out{got->first, {}, got->second};
  out.list.reserve(found.hits.size());
  auto& rows = *out.table;
  size_t at = 0;
  for (auto& h : found.hits) {
    while (at < rows.size() && rows[at].uid < h.uid) ++at;
    bool have = at < rows.size() && rows[at].uid == h.uid;
    const mime::sort_record* k = have ? &rows[at].keys : &none;
    out.list.push_back({&h, k, k->has_sent_date ? k->sent_date : h.internal_date,
                        have ? static_cast<uint32_t>(at) : no_row});
  }
  co_return out;
}

void keys_unreadable(session& s) {
  s.no(fmt::format("[SERVERBUG] cannot read the sort keys of {} (session {})", s.selected->name,
                   s.id));
}

// A candidate's value under one key, as an integer that orders as RFC 5256
// §3 orders that key: strings (compared as their folded octets) through their
// ranks, RELEVANCY negated (RFC 6203 §6: highest first).
int64_t key_value(const keyed& k, sort_key key, const candidate& c) {
  switch (key) {
    case sort_key::arrival:
      return c.match->internal_date;
    case sort_key::date:
      return c.sent_date;
    case sort_key::size:
      return c.match->size;
    case sort_key::relevancy:
      return -static_cast<int64_t>(c.match->relevancy);
    default:
      break;
  }
  if (c.row == no_row) return 0;  // empty keys
  return k.ranks[static_cast<size_t>(*string_key(key))]->rank[c.row];
}

// One string key: the candidates (positions in keys.list) in the order the
// store keeps for the whole folder, picked out by one walk instead of a sort;
// nullopt when that does not apply (several keys, or a candidate the table
// lacks).
std::optional<std::vector<uint32_t>> walk_order(const keyed& keys,
                                                const std::vector<criterion>& criteria) {
  if (criteria.size() != 1) return std::nullopt;
  auto which = string_key(criteria[0].what);
  if (!which) return std::nullopt;
  const auto& kr = *keys.ranks[static_cast<size_t>(*which)];
  std::vector<uint32_t> at_row(kr.order.size(), 0);  // 1 + position in the list
  for (size_t i = 0; i < keys.list.size(); ++i) {
    if (keys.list[i].row == no_row) return std::nullopt;
    at_row[keys.list[i].row] = static_cast<uint32_t>(i + 1);
  }
  std::vector<uint32_t> out;
  out.reserve(keys.list.size());
  auto take = [&](uint32_t row) {
    if (at_row[row]) out.push_back(at_row[row] - 1);
  };
  if (!criteria[0].reverse) {
    for (auto row : kr.order) take(row);
    return out;
  }
  // REVERSE: groups of equal value from the greatest down, each group still
  // in mailbox order (RFC 5256 §3), as the sort would put them.
  size_t end = kr.order.size();
  while (end > 0) {
    size_t begin = end - 1;
    uint32_t rank = kr.rank[kr.order[begin]];
    while (begin > 0 && kr.rank[kr.order[begin - 1]] == rank) --begin;
    for (size_t j = begin; j < end; ++j) take(kr.order[j]);
    end = begin;
  }
  return out;
}

net::awaitable<void> sort(session& s, std::string_view args, bool by_uid) {
  auto req = proto::imap::parse_sort(args);
  if (!req) {
    s.bad(req.error().words);
    co_return;
  }
  if (req->ret_update && update_tag_in_use(s, s.tag)) {
    s.bad(fmt::format("Tag reuse: \"{}\" already names an UPDATE context (RFC 5267 §4.3)", s.tag));
    co_return;
  }
  if (!charset_supported(s, req->charset)) co_return;
  auto found = co_await find_matches(s, req->root);
  auto order = co_await sort_order(s, found, req->criteria);
  if (!order) {
    keys_unreadable(s);
    co_return;
  }
  std::vector<const search_match*> list;
  list.reserve(order->size());
  for (auto i : *order) list.push_back(&found.hits[i]);
  std::vector<uint32_t> numbers;
  numbers.reserve(list.size());
  for (auto* m : list) numbers.push_back(by_uid ? m->uid : m->seq);
  auto& sel = *s.selected;
  if (req->ret_save) {
    // RFC 5182 §2.4: the saved result is the set, its order does not matter.
    sel.saved_search.clear();
    if (req->ret_min || req->ret_max) {
      if (!list.empty() && req->ret_min) sel.saved_search.push_back(list.front()->uid);
      if (list.size() > 1 && req->ret_max) sel.saved_search.push_back(list.back()->uid);
    } else {
      for (auto* m : list) sel.saved_search.push_back(m->uid);
    }
  }
  if (!req->has_return) {
    std::string line = "SORT";
    append_numbers(line, numbers);
    s.untagged(line);
    s.ok(by_uid ? "UID SORT completed" : "SORT completed");
    co_return;
  }
  // ESORT (RFC 5267 §3): MIN and MAX are the first and last in sort order.
  bool only_save = req->ret_save && !req->ret_min && !req->ret_max && !req->ret_all &&
                   !req->ret_count && !req->partial;
  if (!only_save) {
    bool all = req->ret_all ||
               !(req->ret_min || req->ret_max || req->ret_count || req->ret_save || req->partial);
    std::string line = fmt::format("ESEARCH (TAG \"{}\"){}", s.tag, by_uid ? " UID" : "");
    if (!numbers.empty()) {
      if (req->ret_min) line += fmt::format(" MIN {}", numbers.front());
      if (req->ret_max) line += fmt::format(" MAX {}", numbers.back());
      if (all) line += " ALL " + ordered_set(numbers);
    }
    if (req->partial) {
      auto [b, e] = partial_window(*req->partial, numbers.size());
      std::vector<uint32_t> part(numbers.begin() + static_cast<std::ptrdiff_t>(b),
                                 numbers.begin() + static_cast<std::ptrdiff_t>(e));
      line += fmt::format(" PARTIAL ({}:{} {})", req->partial->first, req->partial->last,
                          part.empty() ? "NIL" : ordered_set(part));
    }
    if (req->ret_count) line += fmt::format(" COUNT {}", numbers.size());
    s.untagged(line);
  }
  if (req->ret_update) {
    std::vector<uint32_t> uids;
    uids.reserve(list.size());
    for (auto* m : list) uids.push_back(m->uid);
    open_context(s, req->root, req->criteria, true, by_uid, std::move(uids), found);
  }
  s.ok(by_uid ? "UID SORT completed" : "SORT completed");
}

net::awaitable<void> thread(session& s, std::string_view args, bool by_uid) {
  auto req = proto::imap::parse_thread(args);
  if (!req) {
    s.bad(req.error().words);
    co_return;
  }
  if (!charset_supported(s, req->charset)) co_return;
  auto found = co_await find_matches(s, req->root);
  auto keys = co_await read_keys(s, found);
  if (!keys) {
    keys_unreadable(s);
    co_return;
  }
  std::vector<mime::thread_input> input;
  input.reserve(found.hits.size());
  for (auto& c : keys->list) {
    mime::thread_input t;
    t.number = by_uid ? c.match->uid : c.match->seq;
    t.message_id = c.keys->message_id;
    t.in_reply_to = c.keys->in_reply_to;
    t.references = c.keys->references;
    t.base_subject = c.keys->subject;
    t.reply_or_forward = c.keys->reply_or_forward;
    t.sent_date = c.sent_date;
    input.push_back(std::move(t));
  }
  auto algorithm = req->algorithm;
  // Threading 100,000 messages is CPU work: off the I/O thread.
  bool large = input.size() > 1000;
  auto run = [input = std::move(input), algorithm] {
    using proto::imap::thread_algorithm;
    auto forest = algorithm == thread_algorithm::orderedsubject ? mime::thread_orderedsubject(input)
                  : algorithm == thread_algorithm::refs         ? mime::thread_refs(input)
                                                                : mime::thread_references(input);
    return mime::format_threads(forest);
  };
  std::string text;
  if (large) {
    text = co_await net::run_cpu(std::move(run));
  } else {
    text = run();
  }
  s.untagged(text.empty() ? "THREAD" : "THREAD " + text);
  s.ok(by_uid ? "UID THREAD completed" : "THREAD completed");
}

}  // namespace

net::awaitable<std::optional<std::vector<size_t>>> sort_order(
    session& s, const search_found& found, const std::vector<criterion>& criteria) {
  auto keys = co_await read_keys(s, found, criteria);
  if (!keys) co_return std::nullopt;
  auto run = [&keys = *keys, &criteria, hits = found.hits.data()] {
    // Each candidate's keys as a row of integers (REVERSE negated), side by
    // side, so the sort compares integers in one array; ties go to mailbox
    // order (RFC 5256 §3), the list's.
    auto& list = keys.list;
    const size_t width = criteria.size(), n = list.size();
    if (auto walked = walk_order(keys, criteria)) {
      std::vector<size_t> order;
      order.reserve(n);
      for (auto i : *walked) order.push_back(static_cast<size_t>(list[i].match - hits));
      return order;
    }
    std::vector<int64_t> values(n * width);
    for (size_t i = 0; i < n; ++i)
      for (size_t j = 0; j < width; ++j) {
        int64_t v = key_value(keys, criteria[j].what, list[i]);
        values[i * width + j] = criteria[j].reverse ? -v : v;
      }
    std::vector<uint32_t> at(n);
    if (width == 1) {
      // One key, the usual case: (value, position) pairs sorted in place.
      std::vector<std::pair<int64_t, uint32_t>> pairs(n);
      for (size_t i = 0; i < n; ++i) pairs[i] = {values[i], static_cast<uint32_t>(i)};
      std::sort(pairs.begin(), pairs.end());
      for (size_t i = 0; i < n; ++i) at[i] = pairs[i].second;
    } else {
      for (size_t i = 0; i < n; ++i) at[i] = static_cast<uint32_t>(i);
      std::sort(at.begin(), at.end(), [&](uint32_t a, uint32_t b) {
        const int64_t* x = &values[a * width];
        const int64_t* y = &values[b * width];
        for (size_t j = 0; j < width; ++j)
          if (x[j] != y[j]) return x[j] < y[j];
        return a < b;
      });
    }
    std::vector<size_t> order;
    order.reserve(n);
    for (auto i : at) order.push_back(static_cast<size_t>(list[i].match - hits));
    return order;
  };
  // Sorting 100,000 messages is CPU work: off the I/O thread. The coroutine
  // waits, so what the callable refers to outlives it.
  if (keys->list.size() > 10000) {
    auto order = co_await net::run_cpu(std::move(run));
    co_return order;
  }
  co_return run();
}

net::awaitable<void> cmd_sort(session& s, std::string_view a) { co_await sort(s, a, false); }
net::awaitable<void> cmd_uid_sort(session& s, std::string_view a) { co_await sort(s, a, true); }
net::awaitable<void> cmd_thread(session& s, std::string_view a) { co_await thread(s, a, false); }
net::awaitable<void> cmd_uid_thread(session& s, std::string_view a) { co_await thread(s, a, true); }

}  // namespace postern::session::imap
