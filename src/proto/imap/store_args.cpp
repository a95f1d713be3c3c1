#include "proto/imap/store_args.hpp"

#include <array>

#include "base/strings.hpp"
#include "proto/imap/parse_helpers.hpp"

namespace postern::proto::imap {

namespace {

using detail::error_at;
using detail::expected_at;
using detail::quote;

constexpr std::array<std::string_view, 5> system_flags{"\\Answered", "\\Flagged", "\\Deleted",
                                                       "\\Seen", "\\Draft"};

// store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"])
bool read_operation(std::string_view word, store_request& req) {
  if (word.starts_with('+')) {
    req.how = store_request::op::add;
    word.remove_prefix(1);
  } else if (word.starts_with('-')) {
    req.how = store_request::op::remove;
    word.remove_prefix(1);
  }
  if (base::iequals(word, "FLAGS")) return true;
  req.silent = true;
  return base::iequals(word, "FLAGS.SILENT");
}

// store-modifiers = SP "(" store-modifier *(SP store-modifier) ")" (RFC 4466 §2.5)
checked read_modifiers(cursor& c, store_request& req) {
  c.skip('(');
  for (;;) {
    size_t at = c.offset();
    auto m = c.read_atom("a STORE modifier");
    if (!m) return m.error();
    if (!base::iequals(*m, "UNCHANGEDSINCE")) {
      auto e = error_at(c, "unknown STORE modifier " + quote(*m));
      e.offset = at;
      return e;
    }
    if (req.unchanged_since) return error_at(c, "UNCHANGEDSINCE given twice");
    if (auto sp = c.expect_sp("after UNCHANGEDSINCE"); !sp) return sp.error();
    auto v = c.read_number64("a mod-sequence after UNCHANGEDSINCE");
    if (!v) return v.error();
    req.unchanged_since = *v;
    if (c.skip(' ')) continue;
    if (c.skip(')')) return std::monostate{};
    return expected_at(c, "SP or \")\"", "in the STORE modifiers");
  }
}

std::string too_many() { return "more than " + std::to_string(max_store_flags) + " flags"; }

}  // namespace

read_result<std::string> read_flag(cursor& c) {
  cursor t = c;
  if (!t.skip('\\')) {
    auto k = t.read_atom("a flag");
    if (!k) return k.error();
    c = t;
    return std::string(*k);
  }
  auto a = t.read_atom("a flag name after \"\\\"");
  if (!a) return a.error();
  for (auto f : system_flags) {
    if (!base::iequals(f.substr(1), *a)) continue;
    c = t;
    return std::string(f);
  }
  if (base::iequals(*a, "Recent")) return error_at(c, "\\Recent cannot be set by a client");
  return error_at(c, "unknown system flag \\" + base::printable(*a, 24) +
                         " (only \\Answered, \\Flagged, \\Deleted, \\Seen and \\Draft)");
}

read_result<std::vector<std::string>> read_flag_list(cursor& c) {
  cursor t = c;
  if (auto open = t.expect_open("to start the flag list"); !open) return open.error();
  std::vector<std::string> flags;
  if (!t.skip(')')) {
    for (;;) {
      if (flags.size() == max_store_flags) return error_at(t, too_many());
      auto f = read_flag(t);
      if (!f) return f.error();
      flags.push_back(std::move(*f));
      if (t.skip(' ')) continue;
      if (t.skip(')')) break;
      return expected_at(t, "SP or \")\"", "in the flag list");
    }
  }
  c = t;
  return flags;
}

read_result<store_request> parse_store(std::string_view args) {
  cursor c(args);
  store_request req;
  auto set = c.read_sequence_set("a sequence set");
  if (!set) return set.error();
  req.set = std::move(*set);
  if (auto sp = c.expect_sp("after the sequence set"); !sp) return sp.error();
  if (c.peek('(')) {
    if (auto m = read_modifiers(c, req); !m) return m.error();
    if (auto sp = c.expect_sp("after the STORE modifiers"); !sp) return sp.error();
  }
  size_t at = c.offset();
  auto word = c.read_atom("FLAGS, +FLAGS or -FLAGS");
  if (!word) return word.error();
  if (!read_operation(*word, req)) {
    auto e = error_at(c, "unknown STORE item " + quote(*word) +
                             " (expected FLAGS, +FLAGS or -FLAGS, optionally with .SILENT)");
    e.offset = at;
    return e;
  }
  std::string where = "after " + base::to_upper(*word);
  if (auto sp = c.expect_sp(where); !sp) return sp.error();
  if (c.peek('(')) {
    auto flags = read_flag_list(c);
    if (!flags) return flags.error();
    req.flags = std::move(*flags);
  } else {
    do {
      if (req.flags.size() == max_store_flags) return error_at(c, too_many());
      auto f = read_flag(c);
      if (!f) return f.error();
      req.flags.push_back(std::move(*f));
    } while (c.skip(' '));
  }
  if (auto end = detail::finish(c); !end) return end.error();
  return req;
}

}  // namespace postern::proto::imap
