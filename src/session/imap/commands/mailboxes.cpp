// Authenticated-state commands on mailboxes: NAMESPACE (RFC 2342), LIST with
// LIST-EXTENDED, LIST-STATUS and SPECIAL-USE (RFC 9051 §6.3.9, RFC 5258,
// RFC 5819, RFC 6154), LSUB, STATUS (§6.3.11, RFC 8438 SIZE), CREATE with
// CREATE-SPECIAL-USE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "base/strings.hpp"
#include "net/blocking.hpp"
#include "proto/imap/mutf7.hpp"
#include "proto/imap/response.hpp"
#include "session/imap/commands.hpp"
#include "session/imap/mailbox_name.hpp"
#include "session/imap/status.hpp"

namespace postern::session::imap {

using proto::imap::cursor;

namespace {

// RFC 9051 §6.3.9: "*" matches anything, "%" anything but the separator.
bool matches(std::string_view pattern, std::string_view name) {
  // Positions in `name` the pattern can be at; one pass per pattern char.
  std::vector<char> at(name.size() + 1, 0), next(name.size() + 1, 0);
  at[0] = 1;
  for (char p : pattern) {
    std::fill(next.begin(), next.end(), 0);
    for (size_t i = 0; i <= name.size(); ++i) {
      if (!at[i]) continue;
      if (p == '*') {
        for (size_t j = i; j <= name.size(); ++j) next[j] = 1;
        break;
      }
      if (p == '%') {
        next[i] = 1;
        for (size_t j = i; j < name.size() && name[j] != '/'; ++j) next[j + 1] = 1;
      } else if (i < name.size() && name[i] == p) {
        next[i + 1] = 1;
      }
    }
    at.swap(next);
  }
  return at[name.size()];
}

struct list_request {
  bool subscribed_only = false;
  bool recursive_match = false;
  bool special_use_only = false;
  bool return_subscribed = false;
  bool return_children = true;
  bool return_special_use = true;
  std::vector<std::string> status_items;
  std::string reference;
  std::vector<std::string> patterns;
  bool extended = false;  // any option given: LIST-EXTENDED rules
};

std::optional<std::string> read_list_options(cursor& c, list_request& r) {
  if (!c.skip('(')) return std::nullopt;
  r.extended = true;
  while (!c.skip(')')) {
    auto a = c.read_atom("a selection option");
    if (!a) return a.error().words;
    auto o = base::to_upper(*a);
    if (o == "SUBSCRIBED")
      r.subscribed_only = r.return_subscribed = true;
    else if (o == "RECURSIVEMATCH")
      r.recursive_match = true;
    else if (o == "SPECIAL-USE")
      r.special_use_only = true;
    else if (o != "REMOTE")
      return fmt::format("unknown LIST selection option {}", base::printable(*a));
    c.skip(' ');
  }
  if (r.recursive_match && !r.subscribed_only)
    return std::string("RECURSIVEMATCH needs another selection option (RFC 5258 §3)");
  if (!c.expect_sp()) return std::string("expected SP after the selection options");
  return std::nullopt;
}

std::optional<std::string> read_return_options(cursor& c, list_request& r) {
  if (!c.expect_open("after RETURN")) return std::string("expected ( after RETURN");
  r.extended = true;
  while (!c.skip(')')) {
    auto a = c.read_atom("a return option");
    if (!a) return a.error().words;
    auto o = base::to_upper(*a);
    if (o == "SUBSCRIBED") {
      r.return_subscribed = true;
    } else if (o == "CHILDREN") {
      r.return_children = true;
    } else if (o == "SPECIAL-USE") {
      r.return_special_use = true;
    } else if (o == "STATUS") {
      if (!c.expect_sp() || !c.expect_open()) return std::string("expected (items) after STATUS");
      while (!c.skip(')')) {
        auto item = c.read_atom("a status item");
        if (!item) return item.error().words;
        r.status_items.push_back(base::to_upper(*item));
        c.skip(' ');
      }
    } else {
      return fmt::format("unknown LIST return option {}", base::printable(*a));
    }
    c.skip(' ');
  }
  return std::nullopt;
}

net::awaitable<void> list_or_lsub(session& s, std::string_view args, bool lsub) {
  cursor c(args);
  list_request r;
  if (!lsub) {
    if (auto e = read_list_options(c, r)) {
      s.bad(*e);
      co_return;
    }
  } else {
    r.subscribed_only = r.return_subscribed = true;
  }
  auto ref = c.read_astring("a reference name");
  if (!ref) {
    s.bad(ref.error().words + "; usage: LIST reference pattern");
    co_return;
  }
  r.reference = *ref;
  if (!c.expect_sp("after the reference")) {
    s.bad("expected SP after the reference; usage: LIST reference pattern");
    co_return;
  }
  auto read_pattern = [&](std::string& out) -> bool {
    // list-mailbox = 1*list-char / string; list-char adds "%" and "*".
    if (c.peek('"') || c.peek('{')) {
      auto p = c.read_string("a pattern");
      if (!p) return false;
      out = *p;
      return true;
    }
    auto rest = c.rest();
    size_t n = 0;
    while (n < rest.size() && rest[n] != ' ' && rest[n] != ')' && rest[n] != '\r' &&
           rest[n] != '\n')
      ++n;
    if (n == 0) return false;
    out = std::string(rest.substr(0, n));
    for (size_t i = 0; i < n; ++i) c.skip(rest[i]);
    return true;
  };
  if (!lsub && c.skip('(')) {
    r.extended = true;
    while (!c.skip(')')) {
      std::string p;
      if (!read_pattern(p)) {
        s.bad("expected a mailbox pattern");
        co_return;
      }
      r.patterns.push_back(std::move(p));
      c.skip(' ');
    }
  } else {
    std::string p;
    if (!read_pattern(p)) {
      s.bad("expected a mailbox pattern; usage: LIST reference pattern");
      co_return;
    }
    r.patterns.push_back(std::move(p));
  }
  if (!lsub && c.skip(' ')) {
    auto ret = c.read_atom("RETURN");
    if (!ret || !base::iequals(*ret, "RETURN") || !c.expect_sp()) {
      s.bad("expected RETURN (options) after the patterns");
      co_return;
    }
    if (auto e = read_return_options(c, r)) {
      s.bad(*e);
      co_return;
    }
  }
  if (!c.at_end()) {
    s.bad(fmt::format("unexpected {} after the patterns", base::printable(c.rest())));
    co_return;
  }
  const char* verb = lsub ? "LSUB" : "LIST";
  // RFC 9051 §6.3.9: an empty pattern asks for the separator.
  if (r.patterns.size() == 1 && r.patterns[0].empty()) {
    s.untagged(fmt::format("{} (\\Noselect) \"/\" \"\"", verb));
    s.ok(fmt::format("{} completed", verb));
    co_return;
  }
  auto mb = s.mailbox;
  // Unchanged since the last LIST: answered on the I/O thread, without a
  // trip to the pool (a client lists at every check for new mail).
  std::optional<base::result<store::folder_listing>> got;
  if (auto kept = mb->resident_listing()) {
    got.emplace(std::move(*kept));
  } else {
    auto read = [mb] { return mb->listing(); };
    auto fresh = co_await net::run_reading(std::move(read));
    got.emplace(std::move(fresh));
  }
  if (!*got) {
    s.no(error_reply(s, got->err()));
    co_return;
  }
  const store::folder_listing& listed = **got;
  std::map<std::string, const store::folder_entry*> existing;
  for (auto& f : listed.folders) existing[f.name] = &f;
  std::set<std::string> subs(listed.subscribed.begin(), listed.subscribed.end());
  auto has_children = [&](const std::string& n) {
    auto lo = existing.lower_bound(n + "/");
    return lo != existing.end() && lo->first.compare(0, n.size() + 1, n + "/") == 0;
  };
  std::vector<std::string> decoded_patterns;
  auto match_any = [&](const std::string& name) {
    for (auto& p : decoded_patterns)
      if (matches(p, name)) return true;
    return false;
  };
  // RFC 5258 §3.5 CHILDINFO (and LSUB's \\Noselect parents, RFC 3501
  // §6.3.9): a subscribed descendant of `n` that the patterns leave out.
  auto subscribed_below_unlisted = [&](const std::string& n) {
    for (auto it = subs.lower_bound(n + "/");
         it != subs.end() && it->compare(0, n.size() + 1, n + "/") == 0; ++it)
      if (!match_any(*it)) return true;
    return false;
  };
  for (auto& p : r.patterns) {
    std::string full = r.reference + p;
    if (!s.utf8_accept) {
      auto d = proto::imap::decode_mutf7(full);
      full = d ? *d : full;
    }
    // INBOX matches case-insensitively (RFC 9051 §5.1).
    if (base::iequals(full.substr(0, 5), "INBOX") && (full.size() == 5 || full[5] == '/'))
      full.replace(0, 5, "INBOX");
    decoded_patterns.push_back(std::move(full));
  }
  // The names to consider: the folders, or under SUBSCRIBED the subscribed
  // names (which may name no folder) and, with RECURSIVEMATCH, their parents.
  std::set<std::string> names;
  if (r.subscribed_only) {
    names = subs;
    if (r.recursive_match || lsub)
      for (auto& n : subs)
        for (auto& p : parents_of(n)) names.insert(p);
  } else {
    for (auto& [n, f] : existing) names.insert(n);
  }
  std::vector<std::string> order;
  if (names.count("INBOX")) order.push_back("INBOX");  // first, as clients expect
  for (auto& n : names)
    if (n != "INBOX") order.push_back(n);
  for (auto& name : order) {
    if (!match_any(name)) continue;
    auto it = existing.find(name);
    const store::folder_entry* f = it == existing.end() ? nullptr : it->second;
    bool is_subscribed = subs.count(name) > 0;
    bool child_info =
        !lsub && r.subscribed_only && r.recursive_match && subscribed_below_unlisted(name);
    bool lsub_parent = lsub && !is_subscribed && subscribed_below_unlisted(name);
    if (r.subscribed_only && !is_subscribed && !child_info && !lsub_parent) continue;
    if (r.special_use_only && (!f || f->special_use.empty())) continue;
    std::string attrs;
    auto add = [&](std::string_view a) {
      if (!attrs.empty()) attrs += ' ';
      attrs += a;
    };
    if (lsub_parent) {
      add("\\Noselect");
    } else if (!f && !lsub) {
      add("\\NonExistent");
    } else if (!lsub && r.return_children) {
      add(has_children(name) ? "\\HasChildren" : "\\HasNoChildren");
    }
    if (!lsub && r.return_subscribed && is_subscribed) add("\\Subscribed");
    if (!lsub && f && r.return_special_use && !f->special_use.empty()) add(f->special_use);
    std::string line = fmt::format("{} ({}) \"/\" ", verb, attrs);
    proto::imap::append_string(line, s.wire_name(name), s.utf8_accept);
    if (child_info) line += " (\"CHILDINFO\" (\"SUBSCRIBED\"))";
    s.untagged(line);
    if (f && !r.status_items.empty()) {
      auto st = co_await status_line(s, name, r.status_items);
      if (st) s.untagged(*st);
    }
    bool sent = co_await s.flush_if_full();
    if (!sent) co_return;
  }
  s.ok(fmt::format("{} completed", verb));
}

// Runs a store call that only says yes or no, and answers.
template <class F>
net::awaitable<void> simple_change(session& s, F f, std::string_view done) {
  auto r = co_await net::run_blocking(std::move(f));
  if (!r) {
    s.no(error_reply(s, r.err()));
    co_return;
  }
  s.ok(done);
}

}  // namespace

net::awaitable<void> cmd_namespace(session& s, std::string_view) {
  // RFC 2342: one personal namespace, no others.
  s.untagged("NAMESPACE ((\"\" \"/\")) NIL NIL");
  s.ok("NAMESPACE completed");
  co_return;
}

net::awaitable<void> cmd_list(session& s, std::string_view args) {
  co_await list_or_lsub(s, args, false);
}
net::awaitable<void> cmd_lsub(session& s, std::string_view args) {
  co_await list_or_lsub(s, args, true);
}

net::awaitable<void> cmd_status(session& s, std::string_view args) {
  cursor c(args);
  auto name = read_mailbox(s, c);
  if (auto* e = std::get_if<name_refusal>(&name)) {
    refuse(s, *e);
    co_return;
  }
  std::vector<std::string> items;
  if (!c.expect_sp() || !c.expect_open()) {
    s.bad("expected (items) after the mailbox; usage: STATUS mailbox (MESSAGES UNSEEN)");
    co_return;
  }
  while (!c.skip(')')) {
    auto a = c.read_atom("a status item");
    if (!a) {
      s.bad(a.error().words);
      co_return;
    }
    items.push_back(base::to_upper(*a));
    c.skip(' ');
  }
  if (items.empty()) {
    s.bad("STATUS needs at least one item: MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE");
    co_return;
  }
  auto line = co_await status_line(s, std::get<std::string>(name), items);
  if (!line) {
    s.no(line.err().message);
    co_return;
  }
  s.untagged(*line);
  s.ok("STATUS completed");
}

net::awaitable<void> cmd_create(session& s, std::string_view args) {
  cursor c(args);
  auto name = read_mailbox(s, c, true);
  if (auto* e = std::get_if<name_refusal>(&name)) {
    refuse(s, *e);
    co_return;
  }
  std::string use;
  if (c.skip(' ')) {
    // RFC 6154 §3: CREATE name (USE (\Sent)).
    auto kw = c.rest();
    auto open = kw.find("(\\");
    auto close = kw.find(')');
    if (!base::iequals(kw.substr(0, 5), "(USE ") || open == std::string_view::npos ||
        close == std::string_view::npos || close < open) {
      s.bad("expected (USE (\\attribute)) after the name");
      co_return;
    }
    use = std::string(kw.substr(open + 1, close - open - 1));
    static const char* const known[] = {"\\All",  "\\Archive", "\\Drafts", "\\Flagged",
                                        "\\Junk", "\\Sent",    "\\Trash"};
    bool ok = false;
    for (auto k : known)
      if (base::iequals(use, k)) {
        use = k;
        ok = true;
      }
    if (!ok || use.find(' ') != std::string::npos) {
      s.no("[USEATTR] Only one of \\Archive \\Drafts \\Junk \\Sent \\Trash can be given");
      co_return;
    }
  }
  auto n = std::get<std::string>(name);
  if (n == "INBOX") {
    s.no("[ALREADYEXISTS] INBOX always exists");
    co_return;
  }
  auto mb = s.mailbox;
  auto create = [mb, n, use]() -> base::status {
    // RFC 9051 §6.3.4: superior names are created as needed.
    for (auto& p : parents_of(n)) {
      auto made = mb->create_folder(p, "");
      if (!made && made.err().code != base::errc::already_exists) return made;
    }
    return mb->create_folder(n, use);
  };
  co_await simple_change(s, std::move(create), "CREATE completed");
}

net::awaitable<void> cmd_delete(session& s, std::string_view args) {
  cursor c(args);
  auto name = read_mailbox(s, c);
  if (auto* e = std::get_if<name_refusal>(&name)) {
    refuse(s, *e);
    co_return;
  }
  auto n = std::get<std::string>(name);
  auto mb = s.mailbox;
  auto del = [mb, n] { return mb->delete_folder(n); };
  co_await simple_change(s, std::move(del), "DELETE completed");
}

net::awaitable<void> cmd_rename(session& s, std::string_view args) {
  cursor c(args);
  auto from = read_mailbox(s, c);
  if (auto* e = std::get_if<name_refusal>(&from)) {
    refuse(s, *e);
    co_return;
  }
  if (!c.expect_sp()) {
    s.bad("expected the new name; usage: RENAME old new");
    co_return;
  }
  auto to = read_mailbox(s, c, true);
  if (auto* e = std::get_if<name_refusal>(&to)) {
    refuse(s, *e);
    co_return;
  }
  auto a = std::get<std::string>(from), b = std::get<std::string>(to);
  auto mb = s.mailbox;
  auto rename = [mb, a, b]() -> base::status {
    for (auto& p : parents_of(b)) {
      auto made = mb->create_folder(p, "");
      if (!made && made.err().code != base::errc::already_exists) return made;
    }
    return mb->rename_folder(a, b);
  };
  co_await simple_change(s, std::move(rename), "RENAME completed");
}

net::awaitable<void> cmd_subscribe(session& s, std::string_view args) {
  cursor c(args);
  auto name = read_mailbox(s, c);
  if (auto* e = std::get_if<name_refusal>(&name)) {
    refuse(s, *e);
    co_return;
  }
  auto n = std::get<std::string>(name);
  auto mb = s.mailbox;
  auto sub = [mb, n] { return mb->subscribe(n, true); };
  co_await simple_change(s, std::move(sub), "SUBSCRIBE completed");
}

net::awaitable<void> cmd_unsubscribe(session& s, std::string_view args) {
  cursor c(args);
  auto name = read_mailbox(s, c);
  if (auto* e = std::get_if<name_refusal>(&name)) {
    refuse(s, *e);
    co_return;
  }
  auto n = std::get<std::string>(name);
  auto mb = s.mailbox;
  auto sub = [mb, n] { return mb->subscribe(n, false); };
  co_await simple_change(s, std::move(sub), "UNSUBSCRIBE completed");
}

}  // namespace postern::session::imap
