// THREAD algorithms (threading.hpp): RFC 5256 §3 ORDEREDSUBJECT and REFERENCES,
// and REFS. Header fields are read in threading_text.cpp.
//
// REFERENCES steps (1) to (3) are shared with REFS: link() builds the parent of
// every container, prune() turns that into the tree of messages and dummies.
// Then each algorithm sorts (and REFERENCES merges) a work_tree, which export_
// forest() copies into the flat thread_forest. Every walk is iterative.
#include "mime/threading.hpp"

#include <algorithm>
#include <compare>
#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace postern::mime {
namespace {

constexpr uint32_t none = UINT32_MAX;

// "In order of sent date": RFC 5256 §2.2, ties broken by mailbox order, then
// (only for equal numbers, which callers do not give) by input order.
struct sort_key {
  int64_t date;
  uint32_t number;
  uint32_t index;
  auto operator<=>(const sort_key&) const = default;
};

constexpr sort_key no_key{INT64_MAX, UINT32_MAX, UINT32_MAX};

sort_key key_of(const std::vector<thread_input>& in, uint32_t i) {
  return {in[i].sent_date, in[i].number, i};
}

// Dynamic trees (Sleator and Tarjan's link-cut trees over splay trees), for the
// loop checks of REFERENCES step (1): "would this link make a loop" is "is the
// new parent already below the child", an O(log n) amortised find_root()
// instead of a walk up a chain that an attacker can make 100,000 long.
class link_cut_forest {
 public:
  explicit link_cut_forest(size_t n) : nodes_(n) {}
  void add() { nodes_.emplace_back(); }

  uint32_t find_root(uint32_t x) {
    access(x);
    while (nodes_[x].left != none) x = nodes_[x].left;
    splay(x);
    return x;
  }
  // `child` must be the root of its tree.
  void link(uint32_t child, uint32_t parent) {
    access(child);
    nodes_[child].up = parent;
  }
  // `child` must have a parent.
  void cut(uint32_t child) {
    access(child);
    const uint32_t l = nodes_[child].left;
    if (l != none) {
      nodes_[l].up = none;
      nodes_[child].left = none;
    }
  }

 private:
  // In a splay tree of a path, left is toward the root of the real tree. `up` is
  // the splay parent, or for a splay root the path's parent in the real tree.
  struct node {
    uint32_t left = none, right = none, up = none;
  };

  bool is_splay_root(uint32_t x) const {
    const uint32_t p = nodes_[x].up;
    return p == none || (nodes_[p].left != x && nodes_[p].right != x);
  }

  void rotate(uint32_t x) {
    const uint32_t p = nodes_[x].up, g = nodes_[p].up;
    const bool p_was_root = is_splay_root(p);
    if (nodes_[p].left == x) {
      nodes_[p].left = nodes_[x].right;
      if (nodes_[x].right != none) nodes_[nodes_[x].right].up = p;
      nodes_[x].right = p;
    } else {
      nodes_[p].right = nodes_[x].left;
      if (nodes_[x].left != none) nodes_[nodes_[x].left].up = p;
      nodes_[x].left = p;
    }
    nodes_[p].up = x;
    nodes_[x].up = g;
    if (!p_was_root) (nodes_[g].left == p ? nodes_[g].left : nodes_[g].right) = x;
  }

  void splay(uint32_t x) {
    while (!is_splay_root(x)) {
      const uint32_t p = nodes_[x].up;
      if (!is_splay_root(p)) {
        const uint32_t g = nodes_[p].up;
        rotate((nodes_[g].left == p) == (nodes_[p].left == x) ? p : x);
      }
      rotate(x);
    }
  }

  // Makes the path from the real root to x one splay tree, rooted at x.
  void access(uint32_t x) {
    uint32_t below = none;
    for (uint32_t y = x; y != none; y = nodes_[y].up) {
      splay(y);
      nodes_[y].right = below;
      below = y;
    }
    splay(x);
  }

  std::vector<node> nodes_;
};

// REFERENCES step (1). Containers 0..n-1 are the messages, in input order; those
// after them are dummies for IDs no message has. Returns each one's parent.
std::vector<uint32_t> link(const std::vector<thread_input>& in) {
  const auto n = static_cast<uint32_t>(in.size());
  std::vector<uint32_t> parent(n, none);
  link_cut_forest lct(n);
  std::map<std::string, uint32_t, std::less<>> ids;

  // "For each searched message" in mailbox order, which also decides who keeps
  // a Message-ID that several messages have: the first; the others get unique
  // IDs, as do messages without one, i.e. no entry in `ids`.
  std::vector<uint32_t> order(n);
  for (uint32_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return in[a].number < in[b].number; });
  for (const uint32_t i : order) {
    std::vector<std::string> id = parse_message_ids(in[i].message_id, 1);
    if (!id.empty()) ids.try_emplace(std::move(id[0]), i);
  }

  auto container = [&](std::string& id) {
    const auto [it, added] = ids.try_emplace(std::move(id), static_cast<uint32_t>(parent.size()));
    if (added) {
      parent.push_back(none);
      lct.add();
    }
    return it->second;
  };
  // Links child under p unless child has a parent already or p is below it.
  auto try_link = [&](uint32_t p, uint32_t child) {
    if (parent[child] != none || lct.find_root(p) == child) return;
    parent[child] = p;
    lct.link(child, p);
  };

  std::vector<uint32_t> refs;
  for (const uint32_t m : order) {
    // A message is never its own ancestor: its own ID among its references
    // (which some clients write) is dropped rather than left to cost it its
    // parent in (B).
    refs.clear();
    for (std::string& id : parse_message_ids(in[m].references)) {
      if (const uint32_t c = container(id); c != m) refs.push_back(c);
    }
    if (refs.empty()) {
      for (std::string& id : parse_message_ids(in[m].in_reply_to, 1)) {
        if (const uint32_t c = container(id); c != m) refs.push_back(c);
      }
    }
    // (A) each reference the parent of the next, where none has one already.
    for (size_t k = 1; k < refs.size(); ++k) {
      if (refs[k - 1] != refs[k]) try_link(refs[k - 1], refs[k]);
    }
    // (B) the last reference is the parent: break any link (A) made before.
    if (parent[m] != none) {
      lct.cut(m);
      parent[m] = none;
    }
    if (!refs.empty()) try_link(refs.back(), m);
  }
  return parent;
}

// Messages and dummies from step (3) on; nodes 0..n-1 are the messages.
struct work_tree {
  std::vector<uint32_t> message;  // input index, or none for a dummy
  std::vector<std::vector<uint32_t>> kids;
  std::vector<uint32_t> tops;

  uint32_t add_dummy() {
    message.push_back(none);
    kids.emplace_back();
    return static_cast<uint32_t>(message.size() - 1);
  }
  bool dummy(uint32_t x) const { return message[x] == none; }
};

// Steps (2) and (3). A dummy below a message or below another dummy always gives
// way to its children, so a message's parent in the result is its nearest
// message ancestor; a message with none hangs from the dummy at the top of its
// tree, which stays only if two or more messages do.
work_tree prune(const std::vector<uint32_t>& parent, uint32_t n) {
  const size_t count = parent.size();
  std::vector<uint32_t> first(count + 1, 0), below(count);  // children, CSR
  for (const uint32_t p : parent) {
    if (p != none) ++first[p + 1];
  }
  for (size_t i = 0; i < count; ++i) first[i + 1] += first[i];
  std::vector<uint32_t> fill(first.begin(), first.end() - 1);
  for (uint32_t c = 0; c < count; ++c) {
    if (parent[c] != none) below[fill[parent[c]]++] = c;
  }

  std::vector<uint32_t> up(count, none), top(count, none), stack;
  for (uint32_t r = 0; r < count; ++r) {
    if (parent[r] != none) continue;
    top[r] = r;
    stack.push_back(r);
    while (!stack.empty()) {
      const uint32_t x = stack.back();
      stack.pop_back();
      for (uint32_t k = first[x]; k < first[x + 1]; ++k) {
        const uint32_t c = below[k];
        up[c] = x < n ? x : up[x];
        top[c] = top[x];
        stack.push_back(c);
      }
    }
  }

  work_tree t;
  t.message.resize(n);
  for (uint32_t i = 0; i < n; ++i) t.message[i] = i;
  t.kids.resize(n);
  std::vector<uint32_t> group(count, none), groups;
  for (uint32_t m = 0; m < n; ++m) {
    if (up[m] != none) {
      t.kids[up[m]].push_back(m);
    } else if (top[m] == m || top[m] == none) {
      t.tops.push_back(m);
    } else {
      uint32_t& g = group[top[m]];
      if (g == none) groups.push_back(g = t.add_dummy());
      t.kids[g].push_back(m);
    }
  }
  for (const uint32_t g : groups) t.tops.push_back(t.kids[g].size() == 1 ? t.kids[g][0] : g);
  return t;
}

// Step (6) (and (4), which it includes): every sibling list by sent date, a
// dummy sorting as its first child. The top list goes by `newest` instead when
// given, which is then filled with the latest key at or below each node (REFS).
void sort_siblings(work_tree& t, const std::vector<thread_input>& in,
                   std::vector<sort_key>* newest = nullptr) {
  std::vector<uint32_t> order, stack(t.tops);
  while (!stack.empty()) {
    const uint32_t x = stack.back();
    stack.pop_back();
    order.push_back(x);
    stack.insert(stack.end(), t.kids[x].begin(), t.kids[x].end());
  }
  std::vector<sort_key> key(t.message.size(), no_key);
  if (newest != nullptr) newest->assign(t.message.size(), sort_key{INT64_MIN, 0, 0});
  for (size_t k = order.size(); k-- > 0;) {  // children before their parents
    const uint32_t x = order[k];
    auto& kids = t.kids[x];
    std::sort(kids.begin(), kids.end(), [&](uint32_t a, uint32_t b) { return key[a] < key[b]; });
    if (!t.dummy(x)) {
      key[x] = key_of(in, t.message[x]);
    } else if (!kids.empty()) {
      key[x] = key[kids.front()];
    }
    if (newest != nullptr) {
      auto& latest = (*newest)[x];
      if (!t.dummy(x)) latest = key[x];
      for (const uint32_t c : kids) latest = std::max(latest, (*newest)[c]);
    }
  }
  const auto& by = newest != nullptr ? *newest : key;
  std::sort(t.tops.begin(), t.tops.end(), [&](uint32_t a, uint32_t b) { return by[a] < by[b]; });
}

// Step (5): threads at the top with the same base subject are merged.
void merge_subjects(work_tree& t, const std::vector<thread_input>& in) {
  // (5)(B)(i) the thread subject: the message's, or a dummy's first child's
  // (children are in order since step (4)). A dummy is no reply.
  auto subject = [&](uint32_t x) -> std::string_view {
    if (t.dummy(x) && !t.kids[x].empty()) x = t.kids[x].front();
    return t.dummy(x) ? std::string_view() : in[t.message[x]].base_subject;
  };
  auto reply = [&](uint32_t x) { return !t.dummy(x) && in[t.message[x]].reply_or_forward; };

  // (B) one thread per subject: a dummy's if there is one, else preferably one
  // that is not a reply, else the first.
  std::map<std::string_view, uint32_t> table;
  for (const uint32_t x : t.tops) {
    const std::string_view s = subject(x);
    if (s.empty()) continue;  // (ii)
    const auto [it, added] = table.try_emplace(s, x);
    const uint32_t y = it->second;
    if (!added && !t.dummy(y) && (t.dummy(x) || (reply(y) && !reply(x)))) it->second = x;
  }

  // (C) the others join it.
  std::vector<uint32_t> at(t.message.size(), none);  // where a node is in tops
  for (uint32_t i = 0; i < t.tops.size(); ++i) at[t.tops[i]] = i;
  for (uint32_t i = 0; i < t.tops.size(); ++i) {
    const uint32_t x = t.tops[i];
    const std::string_view s = subject(x);
    if (s.empty()) continue;
    const auto it = table.find(s);
    const uint32_t y = it->second;
    if (y == x) continue;  // (iv)
    if (t.dummy(x) && t.dummy(y)) {
      auto& to = t.kids[y];
      to.insert(to.end(), t.kids[x].begin(), t.kids[x].end());
      t.kids[x].clear();
    } else if (t.dummy(y) || (reply(x) && !reply(y))) {
      t.kids[y].push_back(x);
    } else {
      const uint32_t d = t.add_dummy();
      t.kids[d] = {y, x};
      const uint32_t where = at[y];
      at.push_back(where);
      t.tops[where] = d;
      it->second = d;
    }
    t.tops[i] = none;
  }
  std::erase(t.tops, none);
}

// Copies a work_tree into a thread_forest, keeping only what hangs from tops.
thread_forest export_forest(const work_tree& t, const std::vector<thread_input>& in) {
  thread_forest f;
  std::vector<uint32_t> from;  // the work node behind each forest node
  f.nodes.reserve(t.message.size());
  from.reserve(t.message.size());
  auto add = [&](uint32_t x) {
    f.nodes.push_back({t.dummy(x) ? 0 : in[t.message[x]].number, {}});
    from.push_back(x);
    return static_cast<uint32_t>(f.nodes.size() - 1);
  };
  for (const uint32_t x : t.tops) f.roots.push_back(add(x));
  for (size_t i = 0; i < f.nodes.size(); ++i) {  // grows as it goes: breadth first
    for (const uint32_t c : t.kids[from[i]]) {
      const uint32_t node = add(c);
      f.nodes[i].children.push_back(node);
    }
  }
  return f;
}

}  // namespace

thread_forest thread_orderedsubject(const std::vector<thread_input>& in) {
  std::vector<uint32_t> order(in.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    if (const int c = in[a].base_subject.compare(in[b].base_subject); c != 0) return c < 0;
    return key_of(in, a) < key_of(in, b);
  });
  work_tree t;
  t.message.resize(in.size());
  for (uint32_t i = 0; i < in.size(); ++i) t.message[i] = i;
  t.kids.resize(in.size());
  for (size_t k = 0; k < order.size(); ++k) {
    const uint32_t m = order[k];
    if (k > 0 && in[m].base_subject == in[t.tops.back()].base_subject) {
      t.kids[t.tops.back()].push_back(m);  // already by sent date
    } else {
      t.tops.push_back(m);
    }
  }
  std::sort(t.tops.begin(), t.tops.end(),
            [&](uint32_t a, uint32_t b) { return key_of(in, a) < key_of(in, b); });
  return export_forest(t, in);
}

thread_forest thread_references(const std::vector<thread_input>& in) {
  work_tree t = prune(link(in), static_cast<uint32_t>(in.size()));
  sort_siblings(t, in);  // (4)
  merge_subjects(t, in);
  sort_siblings(t, in);  // (6)
  return export_forest(t, in);
}

thread_forest thread_refs(const std::vector<thread_input>& in) {
  work_tree t = prune(link(in), static_cast<uint32_t>(in.size()));
  std::vector<sort_key> newest;
  sort_siblings(t, in, &newest);
  return export_forest(t, in);
}

}  // namespace postern::mime
