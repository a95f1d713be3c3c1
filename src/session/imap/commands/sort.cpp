// SORT and UID SORT (RFC 5256 §3, RFC 5957 DISPLAYFROM/DISPLAYTO, RFC 5267 §3
// ESORT's RETURN options and PARTIAL), THREAD and UID THREAD (RFC 5256 §3,
// REFS). The matching is SEARCH's (search_eval.hpp); the keys are the ones the
// store kept at delivery (mime::sort_record), read for the whole folder in
// one query, so neither command opens a message.
#include <fmt/format.h>

#include <algorithm>
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
};

// The matched messages with their keys, read from the store's table (kept
// in memory there): hits and table are both in UID order, so one walk pairs
// them. A hit the table lacks (stored after it was read) sorts with empty keys.
struct keyed {
  store::mailbox::sort_table table;
  std::vector<candidate> list;
};

net::awaitable<std::optional<keyed>> read_keys(session& s, const search_found& found) {
  auto mb = s.mailbox;
  auto folder = s.selected->name;
  auto read = [mb, folder] { return mb->sort_records(folder); };
  auto table = co_await net::run_reading(std::move(read));
  if (!table) co_return std::nullopt;
  static const mime::sort_record none;
  keyed out{*table, {}};
  out.list.reserve(found.hits.size());
  auto& rows = **table;
  size_t at = 0;
  for (auto& h : found.hits) {
    while (at < rows.size() && rows[at].uid < h.uid) ++at;
    const mime::sort_record* k = at < rows.size() && rows[at].uid == h.uid ? &rows[at].keys : &none;
    out.list.push_back({&h, k, k->has_sent_date ? k->sent_date : h.internal_date});
  }
  co_return out;
}

void keys_unreadable(session& s) {
  s.no(fmt::format("[SERVERBUG] cannot read the sort keys of {} (session {})", s.selected->name,
                   s.id));
}

// <0, 0, >0 as a sorts before, with, after b under one key (RFC 5256 §3:
// strings compared as their folded octets).
int compare(sort_key key, const candidate& a, const candidate& b) {
  auto three = [](auto x, auto y) { return x < y ? -1 : (y < x ? 1 : 0); };
  switch (key) {
    case sort_key::arrival:
      return three(a.match->internal_date, b.match->internal_date);
    case sort_key::date:
      return three(a.sent_date, b.sent_date);
    case sort_key::size:
      return three(a.match->size, b.match->size);
    case sort_key::subject:
      return a.keys->subject.compare(b.keys->subject);
    case sort_key::from:
      return a.keys->from.compare(b.keys->from);
    case sort_key::to:
      return a.keys->to.compare(b.keys->to);
    case sort_key::cc:
      return a.keys->cc.compare(b.keys->cc);
    case sort_key::displayfrom:
      return a.keys->display_from.compare(b.keys->display_from);
    case sort_key::displayto:
      return a.keys->display_to.compare(b.keys->display_to);
    case sort_key::relevancy:
      return three(b.match->relevancy, a.match->relevancy);  // RFC 6203 §6: highest first
  }
  return 0;
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
    for (auto n : numbers) line += fmt::format(" {}", n);
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
  auto keys = co_await read_keys(s, found);
  if (!keys) co_return std::nullopt;
  auto& list = keys->list;
  std::stable_sort(list.begin(), list.end(), [&](const candidate& a, const candidate& b) {
    for (auto& c : criteria) {
      int r = compare(c.what, a, b);
      if (r != 0) return c.reverse ? r > 0 : r < 0;
    }
    return a.match->seq < b.match->seq;  // RFC 5256 §3: mailbox order breaks ties
  });
  std::vector<size_t> order;
  order.reserve(list.size());
  for (auto& c : list) order.push_back(static_cast<size_t>(c.match - found.hits.data()));
  co_return order;
}

net::awaitable<void> cmd_sort(session& s, std::string_view a) { co_await sort(s, a, false); }
net::awaitable<void> cmd_uid_sort(session& s, std::string_view a) { co_await sort(s, a, true); }
net::awaitable<void> cmd_thread(session& s, std::string_view a) { co_await thread(s, a, false); }
net::awaitable<void> cmd_uid_thread(session& s, std::string_view a) { co_await thread(s, a, true); }

}  // namespace postern::session::imap
