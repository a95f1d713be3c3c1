#include "session/imap/contexts.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <memory>

#include "base/strings.hpp"
#include "observe/log.hpp"
#include "proto/imap/tokenizer.hpp"
#include "session/imap/commands.hpp"
#include "session/imap/context_changes.hpp"

namespace postern::session::imap {

namespace {

using proto::imap::search_key;
using key = search_key::kind;

bool by_relevancy(const std::vector<proto::imap::sort_criterion>& criteria) {
  return std::any_of(criteria.begin(), criteria.end(), [](const auto& c) {
    return c.what == proto::imap::sort_criterion::key::relevancy;
  });
}

// One ESEARCH response with the changes, numbered as the client knows the
// messages now (UIDs, or sequence numbers before any EXPUNGE of this sync).
void send(session& s, const search_context& ctx, const std::vector<context_change>& changes) {
  if (changes.empty()) return;
  auto& sel = *s.selected;
  auto shown = [&](uint32_t uid) { return ctx.by_uid ? uid : sel.seq_of(uid); };
  s.untagged(fmt::format("ESEARCH (TAG \"{}\"){}{}", ctx.tag, ctx.by_uid ? " UID" : "",
                         format_changes(changes, shown)));
}

void drop(selected_folder& sel, const search_context* ctx) {
  std::erase_if(sel.contexts, [&](const auto& c) { return c.get() == ctx; });
}

// A SORT context's members (ascending UIDs) in sort order, or nullopt when
// the store cannot read the sort keys.
net::awaitable<std::optional<std::vector<uint32_t>>> resort(session& s, const search_context& ctx,
                                                            const std::vector<uint32_t>& members) {
  auto& sel = *s.selected;
  search_found all;
  all.hits.reserve(members.size());
  {
    auto lock = sel.view->reader();
    for (auto uid : members) {
      uint32_t seq = sel.seq_of(uid);
      auto* m = sel.view->find(uid);
      search_match h;
      h.seq = seq;
      h.uid = uid;
      // A member expunged but not yet reported keeps its place as best it
      // can; sorted_changes replaces the whole result if that moved it.
      if (m) {
        h.size = m->size;
        h.modseq = m->modseq;
        h.internal_date = m->internal_date;
      }
      if (auto r = ctx.relevancy.find(uid); r != ctx.relevancy.end()) h.relevancy = r->second;
      all.hits.push_back(h);
    }
  }
  auto order = co_await sort_order(s, all, ctx.criteria);
  if (!order) co_return std::nullopt;
  std::vector<uint32_t> out;
  out.reserve(order->size());
  for (auto i : *order) out.push_back(all.hits[i].uid);
  co_return out;
}

}  // namespace

bool update_tag_in_use(const session& s, std::string_view tag) {
  if (!s.selected) return false;
  for (auto& c : s.selected->contexts)
    if (c->tag == tag) return true;
  return false;
}

void freeze_numbers(search_key& k, const selected_folder& sel) {
  for (auto& c : k.children) freeze_numbers(c, sel);
  bool numbers = k.what == key::sequence || (k.what == key::uid && k.set.saved_result);
  if (!numbers) return;
  proto::imap::sequence_set uids;
  if (k.set.saved_result) {
    auto saved = sel.saved_search;
    std::sort(saved.begin(), saved.end());
    saved.erase(std::unique(saved.begin(), saved.end()), saved.end());
    for (auto uid : saved) {
      if (!uids.ranges.empty() && uids.ranges.back().last + 1 == uid)
        uids.ranges.back().last = uid;
      else
        uids.ranges.push_back({uid, uid});
    }
  } else {
    // Messages a..b are the UIDs from a's to b's: those between that are not
    // in the folder were expunged, and UIDs are never used again.
    auto n = static_cast<uint32_t>(sel.uids.size());
    for (auto& r : proto::imap::normalize(k.set, n)) {
      if (n == 0 || r.first > n) continue;
      uids.ranges.push_back({sel.uids[r.first - 1], sel.uids[std::min(r.last, n) - 1]});
    }
  }
  k.what = key::uid;
  k.set = std::move(uids);
}

void open_context(session& s, const search_key& root,
                  std::vector<proto::imap::sort_criterion> criteria, bool sorted, bool by_uid,
                  std::vector<uint32_t> result, const search_found& found) {
  auto& sel = *s.selected;
  if (sel.contexts.size() >= max_update_contexts) {
    // RFC 5267 §4.3.1: the other return options were honoured already.
    s.untagged(fmt::format(
        "NO [NOUPDATE \"{}\"] This session keeps {} UPDATE contexts already; CANCELUPDATE one "
        "of them first",
        s.tag, max_update_contexts));
    return;
  }
  auto ctx = std::make_shared<search_context>();
  ctx->tag = s.tag;
  ctx->by_uid = by_uid;
  ctx->sorted = sorted;
  ctx->root = root;
  freeze_numbers(ctx->root, sel);
  if (sorted && by_relevancy(criteria))
    for (auto& h : found.hits) ctx->relevancy[h.uid] = h.relevancy;
  ctx->criteria = std::move(criteria);
  ctx->result = std::move(result);
  // The search looked at every message as it was at least this recently.
  ctx->evaluated_modseq = sel.seen_modseq;
  sel.contexts.push_back(std::move(ctx));
}

void contexts_expunged(session& s, const std::vector<uint32_t>& uids) {
  if (!s.selected || uids.empty() || s.selected->contexts.empty()) return;
  auto gone = uids;
  std::sort(gone.begin(), gone.end());
  for (auto& ctx : s.selected->contexts) {
    auto after = ctx->result;
    std::erase_if(after,
                  [&](uint32_t u) { return std::binary_search(gone.begin(), gone.end(), u); });
    if (after.size() == ctx->result.size()) continue;
    send(s, *ctx,
         ctx->sorted ? sorted_changes(ctx->result, after) : unsorted_changes(ctx->result, after));
    ctx->result = std::move(after);
    for (auto u : gone) ctx->relevancy.erase(u);
  }
}

net::awaitable<void> update_contexts(session& s) {
  if (!s.selected || s.selected->contexts.empty()) co_return;
  auto view = s.selected->view;
  auto contexts = s.selected->contexts;
  for (auto& ctx : contexts) {
    if (!s.selected || s.selected->view != view) co_return;
    auto& sel = *s.selected;
    uint64_t upto = sel.seen_modseq;
    if (ctx->evaluated_modseq >= upto) continue;
    // What changed since: new messages and flag changes, in UID order.
    std::vector<uint32_t> changed;
    {
      auto lock = view->reader();
      for (auto& m : view->messages)
        if (m.modseq > ctx->evaluated_modseq && sel.seq_of(m.uid)) changed.push_back(m.uid);
    }
    ctx->evaluated_modseq = upto;
    if (changed.empty()) continue;
    auto found = co_await find_matches(s, ctx->root, &changed);
    if (!s.selected || s.selected->view != view) co_return;
    std::vector<uint32_t> matched;
    matched.reserve(found.hits.size());
    for (auto& h : found.hits) {
      matched.push_back(h.uid);
      if (ctx->sorted && by_relevancy(ctx->criteria)) ctx->relevancy[h.uid] = h.relevancy;
    }
    // The members now: the old ones but the changed that no longer match,
    // and the changed that match.
    std::vector<uint32_t> members = ctx->result;
    if (ctx->sorted) std::sort(members.begin(), members.end());
    std::vector<uint32_t> kept;
    kept.reserve(members.size());
    std::set_difference(members.begin(), members.end(), changed.begin(), changed.end(),
                        std::back_inserter(kept));
    std::vector<uint32_t> now;
    now.reserve(kept.size() + matched.size());
    std::set_union(kept.begin(), kept.end(), matched.begin(), matched.end(),
                   std::back_inserter(now));
    if (!ctx->sorted) {
      send(s, *ctx, unsorted_changes(ctx->result, now));
      ctx->result = std::move(now);
      continue;
    }
    if (now == members) continue;
    for (auto it = ctx->relevancy.begin(); it != ctx->relevancy.end();)
      it = std::binary_search(now.begin(), now.end(), it->first) ? std::next(it)
                                                                 : ctx->relevancy.erase(it);
    auto order = co_await resort(s, *ctx, now);
    if (!s.selected || s.selected->view != view) co_return;
    if (!order) {
      s.untagged(fmt::format(
          "NO [NOUPDATE \"{}\"] The sort keys of {} cannot be read; this context is no longer "
          "updated (session {})",
          ctx->tag, s.selected->name, s.id));
      observe::log(observe::level::warning, "imap", s.id,
                   "UPDATE context {} of {} ended: the sort keys of {} cannot be read",
                   base::printable(ctx->tag, 100), s.who(), s.selected->name);
      drop(*s.selected, ctx.get());
      continue;
    }
    send(s, *ctx, sorted_changes(ctx->result, *order));
    ctx->result = std::move(*order);
  }
}

// CANCELUPDATE (RFC 5267 §4.3.5): 1*(SP quoted), the tags of the contexts.
net::awaitable<void> cmd_cancelupdate(session& s, std::string_view args) {
  proto::imap::cursor c(args);
  std::vector<std::string> tags;
  do {
    auto t = c.read_quoted("the quoted tag of a SEARCH or SORT with RETURN (UPDATE)");
    if (!t) {
      s.bad(t.error().words);
      co_return;
    }
    tags.push_back(std::move(*t));
    if (!c.at_end())
      if (auto sp = c.expect_sp("between tags"); !sp) {
        s.bad(sp.error().words);
        co_return;
      }
  } while (!c.at_end());
  auto& sel = *s.selected;
  for (auto& t : tags)
    if (!update_tag_in_use(s, t)) {
      s.no(fmt::format("No UPDATE context has the tag \"{}\"; nothing was cancelled",
                       base::printable(t, 100)));
      co_return;
    }
  for (auto& t : tags) std::erase_if(sel.contexts, [&](const auto& c) { return c->tag == t; });
  s.ok("No further updates");
}

}  // namespace postern::session::imap
