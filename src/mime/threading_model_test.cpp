// thread_references() and thread_refs() against a model: RFC 5256 §3 done the
// plain way (parent pointers, loop checks by walking up, recursion, nested
// values), on many small random mailboxes full of duplicates, loops, missing
// parents, ties and shared subjects. The model takes the same readings of the
// RFC as threading.hpp states (a message's own ID among its references is
// ignored; REFS orders threads by their newest message).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "mime/threading.hpp"

namespace postern::mime {
namespace {

struct tree {
  int msg = -1;  // input index, -1 for a dummy
  std::vector<tree> kids;
};

class model {
 public:
  explicit model(const std::vector<thread_input>& in) : in_(in) {}

  std::string run(bool refs) {
    link();
    std::vector<tree> top;
    for (size_t b = 0; b < boxes_.size(); ++b) {
      if (boxes_[b].parent != -1) continue;  // (2)
      for (tree& t : prune(static_cast<int>(b), true)) top.push_back(std::move(t));
    }
    if (!refs) {
      sort_level(top);  // (4)
      merge(top);       // (5)
    }
    sort_all(top);  // (6)
    if (refs) {
      std::stable_sort(top.begin(), top.end(),
                       [&](const tree& a, const tree& b) { return newest(a) < newest(b); });
    }
    std::string out;
    for (const tree& t : top) out += "(" + members(t) + ")";
    return out;
  }

 private:
  struct box {
    int msg = -1;
    int parent = -1;
    std::vector<int> kids;
  };
  using key = std::tuple<int64_t, uint32_t, int>;

  int box_for(const std::string& id) {
    if (const auto it = by_id_.find(id); it != by_id_.end()) return it->second;
    boxes_.push_back({});
    return by_id_[id] = static_cast<int>(boxes_.size() - 1);
  }
  bool above_or_same(int a, int x) const {
    for (int y = x; y != -1; y = boxes_[y].parent) {
      if (y == a) return true;
    }
    return false;
  }
  void set_parent(int child, int p) {
    if (boxes_[child].parent != -1 || above_or_same(child, p)) return;
    boxes_[child].parent = p;
    boxes_[p].kids.push_back(child);
  }

  void link() {
    std::vector<int> order(in_.size());
    for (size_t i = 0; i < in_.size(); ++i) {
      order[i] = static_cast<int>(i);
      boxes_.push_back({static_cast<int>(i), -1, {}});
    }
    std::sort(order.begin(), order.end(),
              [&](int a, int b) { return in_[a].number < in_[b].number; });
    for (const int i : order) {
      const auto id = parse_message_ids(in_[i].message_id, 1);
      if (!id.empty() && !by_id_.count(id[0])) by_id_[id[0]] = i;
    }
    for (const int m : order) {
      std::vector<int> refs;
      for (const auto& id : parse_message_ids(in_[m].references)) {
        if (box_for(id) != m) refs.push_back(box_for(id));
      }
      if (refs.empty()) {
        for (const auto& id : parse_message_ids(in_[m].in_reply_to, 1)) {
          if (box_for(id) != m) refs.push_back(box_for(id));
        }
      }
      for (size_t k = 1; k < refs.size(); ++k) set_parent(refs[k], refs[k - 1]);
      if (const int p = boxes_[m].parent; p != -1) {
        auto& kids = boxes_[p].kids;
        kids.erase(std::find(kids.begin(), kids.end(), m));
        boxes_[m].parent = -1;
      }
      if (!refs.empty()) set_parent(m, refs.back());
    }
  }

  // (3), children first: what takes box b's place among its siblings.
  std::vector<tree> prune(int b, bool at_top) {
    tree t{boxes_[b].msg, {}};
    for (const int c : boxes_[b].kids) {
      for (tree& k : prune(c, false)) t.kids.push_back(std::move(k));
    }
    if (t.msg != -1) return {std::move(t)};
    if (!at_top || t.kids.size() <= 1) return std::move(t.kids);
    return {std::move(t)};
  }

  key key_of(const tree& t) const {
    if (t.msg == -1) return t.kids.empty() ? key{INT64_MAX, 0, 0} : key_of(t.kids.front());
    return {in_[t.msg].sent_date, in_[t.msg].number, t.msg};
  }
  key newest(const tree& t) const {
    key k = t.msg == -1 ? key{INT64_MIN, 0, 0} : key_of(t);
    for (const tree& c : t.kids) k = std::max(k, newest(c));
    return k;
  }
  void sort_level(std::vector<tree>& level) {
    for (tree& t : level) {
      if (t.msg == -1) sort_level(t.kids);
    }
    std::stable_sort(level.begin(), level.end(),
                     [&](const tree& a, const tree& b) { return key_of(a) < key_of(b); });
  }
  void sort_all(std::vector<tree>& level) {
    for (tree& t : level) sort_all(t.kids);
    sort_level(level);
  }

  std::string subject(const tree& t) const {
    const tree& m = t.msg == -1 ? t.kids.front() : t;
    return in_[m.msg].base_subject;
  }
  bool reply(const tree& t) const { return t.msg != -1 && in_[t.msg].reply_or_forward; }

  void merge(std::vector<tree>& top) {
    std::map<std::string, size_t> table;
    for (size_t i = 0; i < top.size(); ++i) {
      const std::string s = subject(top[i]);
      if (s.empty()) continue;
      if (!table.count(s)) {
        table[s] = i;
        continue;
      }
      const tree& old = top[table[s]];
      if (old.msg != -1 && (top[i].msg == -1 || (reply(old) && !reply(top[i])))) table[s] = i;
    }
    std::vector<bool> gone(top.size());
    for (size_t i = 0; i < top.size(); ++i) {
      const std::string s = subject(top[i]);
      if (s.empty() || table[s] == i) continue;
      tree& into = top[table[s]];
      if (top[i].msg == -1 && into.msg == -1) {
        for (tree& k : top[i].kids) into.kids.push_back(std::move(k));
      } else if (into.msg == -1 || (reply(top[i]) && !reply(into))) {
        into.kids.push_back(std::move(top[i]));
      } else {
        tree d{-1, {}};
        d.kids.push_back(std::move(into));
        d.kids.push_back(std::move(top[i]));
        into = std::move(d);
      }
      gone[i] = true;
    }
    std::vector<tree> kept;
    for (size_t i = 0; i < top.size(); ++i) {
      if (!gone[i]) kept.push_back(std::move(top[i]));
    }
    top = std::move(kept);
  }

  std::string members(const tree& t) const {
    std::string s = t.msg == -1 ? "" : std::to_string(in_[t.msg].number);
    if (!s.empty() && !t.kids.empty()) s += ' ';
    if (t.kids.size() == 1) return s + members(t.kids[0]);
    for (const tree& k : t.kids) s += "(" + members(k) + ")";
    return s;
  }

  const std::vector<thread_input>& in_;
  std::vector<box> boxes_;
  std::map<std::string, int> by_id_;
};

std::vector<thread_input> random_mailbox(std::mt19937& rng) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const int n = 1 + pick(12), pool = 4 + pick(12);
  auto id = [&] { return "<" + std::to_string(pick(pool)) + "@x>"; };
  static const char* const subjects[][2] = {{"a", "0"}, {"a", "1"}, {"b", "0"}, {"b", "1"},
                                            {"", "0"},  {"", "1"},  {"c", "0"}};
  std::vector<uint32_t> numbers(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) numbers[static_cast<size_t>(i)] = static_cast<uint32_t>(i + 1);
  std::shuffle(numbers.begin(), numbers.end(), rng);
  std::vector<thread_input> in;
  for (int i = 0; i < n; ++i) {
    thread_input m;
    m.number = numbers[static_cast<size_t>(i)];
    const int kind = pick(10);
    m.message_id = kind < 8 ? id() : kind == 8 ? "" : "junk";
    for (int r = pick(6); r > 0; --r) m.references += id() + (pick(4) == 0 ? " junk " : " ");
    if (pick(4) == 0) m.in_reply_to = id() + " " + id();
    const auto& s = subjects[pick(7)];
    m.base_subject = s[0];
    m.reply_or_forward = s[1][0] == '1';
    m.sent_date = pick(5);
    in.push_back(std::move(m));
  }
  return in;
}

std::string describe(const std::vector<thread_input>& in) {
  std::string s;
  for (const auto& m : in) {
    s += std::to_string(m.number) + " id=" + m.message_id + " refs=" + m.references +
         " irt=" + m.in_reply_to + " subj=" + m.base_subject + (m.reply_or_forward ? "(re)" : "") +
         " date=" + std::to_string(m.sent_date) + "\n";
  }
  return s;
}

TEST(ThreadingModel, RandomMailboxes) {
  std::mt19937 rng(5256);
  for (int round = 0; round < 5000; ++round) {
    const std::vector<thread_input> in = random_mailbox(rng);
    const std::string want_references = model(in).run(false);
    const std::string want_refs = model(in).run(true);
    ASSERT_EQ(format_threads(thread_references(in)), want_references) << describe(in);
    ASSERT_EQ(format_threads(thread_refs(in)), want_refs) << describe(in);
  }
}

}  // namespace
}  // namespace postern::mime
