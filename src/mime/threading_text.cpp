// The text ends of threading.hpp: parse_message_ids() reads the header fields,
// format_threads() writes the THREAD response (RFC 5256 §4). The algorithms are
// in threading.cpp.
#include <charconv>
#include <string>
#include <string_view>
#include <vector>

#include "mime/threading.hpp"

namespace postern::mime {
namespace {

constexpr size_t npos = std::string_view::npos;

// atext and '.', leniently: any byte that is not a blank, a control or one of
// the specials that delimit a msg-id (RFC 5322 §3.6.4 id-left, id-right).
bool is_id_char(unsigned char c) {
  if (c <= 0x20 || c == 0x7f) return false;
  switch (c) {
    case '<':
    case '>':
    case '(':
    case ')':
    case '"':
    case '@':
    case '[':
    case ']':
    case '\\':
      return false;
    default:
      return true;
  }
}

// A quoted-string at s[pos] == '"': its content, unescaped and unfolded, goes to
// `out` if given. Returns the position after the closing quote, or npos.
size_t read_quoted(std::string_view s, size_t pos, std::string* out) {
  for (size_t i = pos + 1; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') return i + 1;
    if (c == '\\' && i + 1 < s.size()) {
      c = s[++i];
    } else if (c == '\r' || c == '\n') {
      continue;
    }
    if (out != nullptr) out->push_back(c);
  }
  return npos;
}

// A comment at s[pos] == '(', nested, with quoted-pairs. Returns the position
// after its closing parenthesis, or npos.
size_t skip_comment(std::string_view s, size_t pos) {
  size_t depth = 0;
  for (size_t i = pos; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '(') {
      ++depth;
    } else if (s[i] == ')' && --depth == 0) {
      return i + 1;
    }
  }
  return npos;
}

struct id_read {
  bool ok;
  size_t next;  // where to go on reading: past the ID, or where it went wrong
};

// msg-id = "<" id-left "@" id-right ">" at s[pos] == '<', into `id` without the
// angle brackets and with quoted parts of id-left unquoted (RFC 5256 §3).
id_read read_msg_id(std::string_view s, size_t pos, std::string& id) {
  id.clear();
  size_t i = pos + 1;
  while (i < s.size()) {
    if (s[i] == '"') {
      const size_t q = read_quoted(s, i, &id);
      if (q == npos) return {false, s.size()};
      i = q;
    } else if (is_id_char(static_cast<unsigned char>(s[i]))) {
      id.push_back(s[i++]);
    } else {
      break;
    }
  }
  if (id.empty() || i >= s.size() || s[i] != '@') return {false, i};
  id.push_back('@');
  const size_t domain = id.size();
  ++i;
  if (i < s.size() && s[i] == '[') {  // domain literal, kept with its brackets
    size_t j = i + 1;
    while (j < s.size() && s[j] != ']' && s[j] != '[' && s[j] != '\\' &&
           static_cast<unsigned char>(s[j]) > 0x20) {
      ++j;
    }
    if (j >= s.size() || s[j] != ']') return {false, j};
    id.append(s.substr(i, j + 1 - i));
    i = j + 1;
  } else {
    while (i < s.size() && is_id_char(static_cast<unsigned char>(s[i]))) id.push_back(s[i++]);
  }
  if (id.size() == domain || i >= s.size() || s[i] != '>') return {false, i};
  return {true, i + 1};
}

}  // namespace

std::vector<std::string> parse_message_ids(std::string_view s, size_t limit) {
  std::vector<std::string> ids;
  std::string id;
  // Once a comment or a quoted string is left open, later '(' and '"' are read
  // as plain bytes: the rest is then scanned once, not once per opening.
  bool comments = true, quotes = true;
  size_t i = 0;
  while (i < s.size() && ids.size() < limit) {
    const char c = s[i];
    if (c == '(' && comments) {
      const size_t next = skip_comment(s, i);
      comments = next != npos;
      i = comments ? next : i + 1;
    } else if (c == '"' && quotes) {
      const size_t next = read_quoted(s, i, nullptr);
      quotes = next != npos;
      i = quotes ? next : i + 1;
    } else if (c == '<') {
      const id_read r = read_msg_id(s, i, id);
      if (r.ok) ids.push_back(id);
      i = r.next;
    } else {
      ++i;
    }
  }
  return ids;
}

namespace {

// A walk of the forest from its roots in which every node is owned by the first
// node that reaches it, and knows whether it has a message at or below it.
struct walk {
  static constexpr uint32_t unseen = UINT32_MAX;
  static constexpr uint32_t is_root = UINT32_MAX - 1;

  explicit walk(const thread_forest& f) : forest(f), owner(f.nodes.size(), unseen) {
    const size_t n = f.nodes.size();
    std::vector<uint32_t> order, stack;
    for (const uint32_t r : f.roots) {
      if (r >= n || owner[r] != unseen) continue;
      owner[r] = is_root;
      roots.push_back(r);
      stack.push_back(r);
      while (!stack.empty()) {
        const uint32_t x = stack.back();
        stack.pop_back();
        order.push_back(x);
        for (const uint32_t c : f.nodes[x].children) {
          if (c < n && owner[c] == unseen) {
            owner[c] = x;
            stack.push_back(c);
          }
        }
      }
    }
    visible.assign(n, 0);
    for (size_t k = order.size(); k-- > 0;) {  // children before their parents
      const uint32_t x = order[k];
      if (f.nodes[x].number != 0) visible[x] = 1;
      if (visible[x] && owner[x] < n) visible[owner[x]] = 1;
    }
  }

  void children(uint32_t x, std::vector<uint32_t>& out) const {
    out.clear();
    for (const uint32_t c : forest.nodes[x].children) {
      if (c < forest.nodes.size() && owner[c] == x && visible[c]) out.push_back(c);
    }
  }

  const thread_forest& forest;
  std::vector<uint32_t> owner;
  std::vector<char> visible;
  std::vector<uint32_t> roots;
};

}  // namespace

std::string format_threads(const thread_forest& threads) {
  const walk w(threads);
  // A stack of what is still to write: nodes, and these three tokens.
  constexpr uint32_t open = UINT32_MAX, close = UINT32_MAX - 1, space = UINT32_MAX - 2;
  std::string out;
  std::vector<uint32_t> todo, kids;
  char digits[16];
  for (const uint32_t r : w.roots) {
    if (!w.visible[r]) continue;
    todo = {close, r, open};
    while (!todo.empty()) {
      const uint32_t a = todo.back();
      todo.pop_back();
      if (a == open || a == close || a == space) {
        out.push_back(a == open ? '(' : a == close ? ')' : ' ');
        continue;
      }
      const uint32_t number = threads.nodes[a].number;
      if (number != 0) {
        const auto res = std::to_chars(digits, digits + sizeof digits, number);
        out.append(digits, res.ptr);
      }
      w.children(a, kids);
      if (kids.size() == 1) {
        // thread-members: the only child follows on the same list.
        todo.push_back(kids[0]);
      } else {
        // thread-nested: each child is a list of its own.
        for (size_t k = kids.size(); k-- > 0;) {
          todo.push_back(close);
          todo.push_back(kids[k]);
          todo.push_back(open);
        }
      }
      if (number != 0 && !kids.empty()) todo.push_back(space);
    }
  }
  return out;
}

}  // namespace postern::mime
