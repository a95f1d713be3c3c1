#include "proto/imap/search_keys.hpp"

#include <array>
#include <cctype>

#include "base/strings.hpp"
#include "proto/imap/parse_helpers.hpp"

namespace postern::proto::imap {

namespace {

using detail::error_at;
using detail::expected_at;
using detail::quote;
using kind = search_key::kind;

enum class arg {
  none,
  astring,
  date,
  header,
  keyword,
  number64,
  nz_number,
  set,
  modseq,
  objectid,
  not_,
  or_
};

struct key_def {
  std::string_view name;
  kind what;
  arg takes;
};

// RFC 9051 §9 search-key, RFC 3501 §9 (NEW OLD RECENT), RFC 7162 §7, RFC 8514 §4,
// RFC 8474 §7, RFC 5032 §4.
constexpr std::array<key_def, 46> keys{{
    {"ALL", kind::all, arg::none},
    {"ANSWERED", kind::answered, arg::none},
    {"BCC", kind::bcc, arg::astring},
    {"BEFORE", kind::before, arg::date},
    {"BODY", kind::body, arg::astring},
    {"CC", kind::cc, arg::astring},
    {"DELETED", kind::deleted, arg::none},
    {"DRAFT", kind::draft, arg::none},
    {"FLAGGED", kind::flagged, arg::none},
    {"FROM", kind::from, arg::astring},
    {"HEADER", kind::header, arg::header},
    {"KEYWORD", kind::keyword, arg::keyword},
    {"LARGER", kind::larger, arg::number64},
    {"NEW", kind::new_, arg::none},
    {"NOT", kind::not_, arg::not_},
    {"OLD", kind::old, arg::none},
    {"ON", kind::on, arg::date},
    {"OR", kind::or_, arg::or_},
    {"RECENT", kind::recent, arg::none},
    {"SEEN", kind::seen, arg::none},
    {"SENTBEFORE", kind::sentbefore, arg::date},
    {"SENTON", kind::senton, arg::date},
    {"SENTSINCE", kind::sentsince, arg::date},
    {"SINCE", kind::since, arg::date},
    {"SMALLER", kind::smaller, arg::number64},
    {"SUBJECT", kind::subject, arg::astring},
    {"TEXT", kind::text, arg::astring},
    {"TO", kind::to, arg::astring},
    {"UID", kind::uid, arg::set},
    {"UNANSWERED", kind::unanswered, arg::none},
    {"UNDELETED", kind::undeleted, arg::none},
    {"UNDRAFT", kind::undraft, arg::none},
    {"UNFLAGGED", kind::unflagged, arg::none},
    {"UNKEYWORD", kind::unkeyword, arg::keyword},
    {"UNSEEN", kind::unseen, arg::none},
    {"MODSEQ", kind::modseq, arg::modseq},
    {"SAVEDBEFORE", kind::savedbefore, arg::date},
    {"SAVEDON", kind::savedon, arg::date},
    {"SAVEDSINCE", kind::savedsince, arg::date},
    {"SAVEDATESUPPORTED", kind::savedatesupported, arg::none},
    {"EMAILID", kind::emailid, arg::objectid},
    {"THREADID", kind::threadid, arg::objectid},
    {"OLDER", kind::older, arg::nz_number},
    {"YOUNGER", kind::younger, arg::nz_number},
    // Not keys: here so that a misplaced one gets a clear error.
    {"RETURN", kind::all, arg::none},
    {"CHARSET", kind::all, arg::none},
}};

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (the well-known
// era-based civil-to-days computation).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// Marks `k` and everything inside it; a key already marked has its inside marked too, so
// nested FUZZY costs no second walk.
void mark_fuzzy(search_key& k) {
  if (k.fuzzy) return;
  k.fuzzy = true;
  for (auto& child : k.children) mark_fuzzy(child);
}

// Why a RETURN or CHARSET among the keys is misplaced, in the words of the command.
std::string misplaced(std::string_view name, search_command in) {
  bool ret = name == "RETURN";
  switch (in) {
    case search_command::search:
      return ret ? "RETURN must come before the search keys and before CHARSET"
                 : "CHARSET must come before the search keys";
    case search_command::sort:
      return ret ? "RETURN must come right after SORT, before the sort criteria (RFC 5267)"
                 : "CHARSET is not a search key: SORT takes the charset alone, after the sort "
                   "criteria (RFC 5256)";
    case search_command::thread:
      return ret ? "THREAD takes no RETURN options"
                 : "CHARSET is not a search key: THREAD takes the charset alone, after the "
                   "algorithm (RFC 5256)";
  }
  return {};
}

class key_parser {
 public:
  key_parser(cursor& c, search_command in) : c_(c), in_(in) {}
  read_result<search_key> read_key(size_t depth);

 private:
  read_result<search_key> read_group(size_t depth);
  read_result<search_key> read_fuzzy(size_t depth);
  checked read_argument(const key_def& def, search_key& key, size_t depth);
  checked read_date(std::string_view name, search_key& key);
  checked read_modseq(search_key& key);
  checked read_objectid(std::string_view name, search_key& key);
  checked sp_after(std::string_view name) {
    std::string where = "after ";
    where += name;
    return c_.expect_sp(where);
  }
  syntax_error too_deep() const {
    return error_at(c_, "search keys nested deeper than " + std::to_string(max_search_depth));
  }

  cursor& c_;
  search_command in_;
  size_t count_ = 0;
};

read_result<search_key> key_parser::read_group(size_t depth) {
  c_.skip('(');
  search_key group;
  group.what = kind::and_;
  for (;;) {
    auto k = read_key(depth + 1);
    if (!k) return k.error();
    group.children.push_back(std::move(*k));
    if (c_.skip(' ')) continue;
    if (c_.skip(')')) return group;
    return expected_at(c_, "SP or \")\"", "in the parenthesized search keys");
  }
}

read_result<search_key> key_parser::read_key(size_t depth) {
  if (++count_ > max_search_keys)
    return error_at(c_, "more than " + std::to_string(max_search_keys) + " search keys");
  if (c_.peek('(')) {
    if (depth >= max_search_depth) return too_deep();
    return read_group(depth);
  }
  auto r = c_.rest();
  if (!r.empty() && (detail::is_digit(r.front()) || r.front() == '*' || r.front() == '$')) {
    auto set = c_.read_sequence_set("a sequence set");
    if (!set) return set.error();
    search_key key;
    key.what = kind::sequence;
    key.set = std::move(*set);
    return key;
  }
  size_t at = c_.offset();
  auto name = c_.read_atom("a search key");
  if (!name) return name.error();
  if (base::iequals(*name, "FUZZY")) return read_fuzzy(depth);
  for (const auto& def : keys) {
    if (!base::iequals(def.name, *name)) continue;
    if (def.name == "RETURN" || def.name == "CHARSET") {
      auto e = error_at(c_, misplaced(def.name, in_));
      e.offset = at;
      return e;
    }
    search_key key;
    key.what = def.what;
    if (auto a = read_argument(def, key, depth); !a) return a.error();
    return key;
  }
  auto e = error_at(c_, "unknown search key " + quote(*name));
  e.offset = at;
  return e;
}

// RFC 6203 §7: search-key =/ "FUZZY" SP search-key. It applies to the one key after it
// (§3: "FUZZY SUBJECT a FROM b" is fuzzy only for SUBJECT); several FUZZY in a row are the
// same as one.
read_result<search_key> key_parser::read_fuzzy(size_t depth) {
  if (auto sp = sp_after("FUZZY"); !sp) return sp.error();
  if (depth >= max_search_depth) return too_deep();
  auto k = read_key(depth + 1);
  if (!k) return k;
  mark_fuzzy(*k);
  return k;
}

checked key_parser::read_argument(const key_def& def, search_key& key, size_t depth) {
  if (def.takes == arg::none) return std::monostate{};
  if (auto sp = sp_after(def.name); !sp) return sp.error();
  std::string what;
  switch (def.takes) {
    case arg::none:
      break;
    case arg::astring: {
      auto s = c_.read_astring("a string after " + std::string(def.name));
      if (!s) return s.error();
      key.text = std::move(*s);
      break;
    }
    case arg::date:
      return read_date(def.name, key);
    case arg::header: {
      auto f = c_.read_astring("a header field name after HEADER");
      if (!f) return f.error();
      key.text = std::move(*f);
      if (auto sp = c_.expect_sp("after the HEADER field name"); !sp) return sp.error();
      auto v = c_.read_astring("a string after the HEADER field name");
      if (!v) return v.error();
      key.value = std::move(*v);
      break;
    }
    case arg::keyword: {
      auto k = c_.read_atom("a keyword after " + std::string(def.name));
      if (!k) return k.error();
      key.text = std::string(*k);
      break;
    }
    case arg::number64: {
      auto n = c_.read_number64("a size after " + std::string(def.name));
      if (!n) return n.error();
      key.number = *n;
      break;
    }
    case arg::nz_number: {
      auto n = c_.read_nz_number("a non-zero number of seconds after " + std::string(def.name));
      if (!n) return n.error();
      key.number = *n;
      break;
    }
    case arg::set: {
      auto s = c_.read_sequence_set("a UID set after UID");
      if (!s) return s.error();
      key.set = std::move(*s);
      break;
    }
    case arg::modseq:
      return read_modseq(key);
    case arg::objectid:
      return read_objectid(def.name, key);
    case arg::not_:
    case arg::or_: {
      if (depth >= max_search_depth) return too_deep();
      auto a = read_key(depth + 1);
      if (!a) return a.error();
      key.children.push_back(std::move(*a));
      if (def.takes == arg::not_) break;
      if (auto sp = c_.expect_sp("between the two keys of OR"); !sp) return sp.error();
      auto b = read_key(depth + 1);
      if (!b) return b.error();
      key.children.push_back(std::move(*b));
      break;
    }
  }
  return std::monostate{};
}

checked key_parser::read_date(std::string_view name, search_key& key) {
  size_t at = c_.offset();
  auto s = c_.read_astring("a date like 1-Feb-1994 after " + std::string(name));
  if (!s) return s.error();
  if (parse_search_date(*s, key.date)) return std::monostate{};
  auto e = error_at(c_, "invalid date " + quote(*s) + " after " + std::string(name) +
                            " (expected day-month-year, as in 1-Feb-1994)");
  e.offset = at;
  return e;
}

// RFC 7162 §7: "MODSEQ" [SP entry-name SP entry-type-req] SP mod-sequence-valzer
checked key_parser::read_modseq(search_key& key) {
  if (c_.peek('"') || c_.peek('{')) {
    size_t at = c_.offset();
    auto name = c_.read_string("a MODSEQ entry name");
    if (!name) return name.error();
    if (name->size() <= 7 || !base::iequals(std::string_view(*name).substr(0, 7), "/flags/")) {
      auto e = error_at(
          c_, "MODSEQ entry name " + quote(*name) + " is not \"/flags/\" and a flag (RFC 7162)");
      e.offset = at;
      return e;
    }
    if (auto sp = c_.expect_sp("after the MODSEQ entry name"); !sp) return sp.error();
    at = c_.offset();
    auto type = c_.read_atom("priv, shared or all after the MODSEQ entry name");
    if (!type) return type.error();
    if (!base::iequals(*type, "priv") && !base::iequals(*type, "shared") &&
        !base::iequals(*type, "all")) {
      auto e = error_at(c_, "MODSEQ entry type " + quote(*type) + " is not priv, shared or all");
      e.offset = at;
      return e;
    }
    if (auto sp = c_.expect_sp("after the MODSEQ entry type"); !sp) return sp.error();
  }
  auto n = c_.read_number64("a mod-sequence after MODSEQ");
  if (!n) return n.error();
  key.number = *n;
  return std::monostate{};
}

// RFC 8474 §5.1: objectid = 1*255(ALPHA / DIGIT / "_" / "-")
checked key_parser::read_objectid(std::string_view name, search_key& key) {
  size_t at = c_.offset();
  auto id = c_.read_atom("an object id after " + std::string(name));
  if (!id) return id.error();
  bool ok = id->size() <= 255;
  for (char ch : *id)
    ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-');
  if (!ok) {
    auto e = error_at(c_, "object id " + quote(*id) + " after " + std::string(name) +
                              " is not 1 to 255 letters, digits, \"_\" or \"-\" (RFC 8474)");
    e.offset = at;
    return e;
  }
  key.text = std::string(*id);
  return std::monostate{};
}

bool is_nz_digits(std::string_view s) {
  if (s.empty() || s.front() == '0') return false;
  for (char ch : s)
    if (!detail::is_digit(ch)) return false;
  return true;
}

// partial-range-first = nz-number ":" nz-number
// partial-range-last  = MINUS nz-number ":" MINUS nz-number         (RFC 9394 §4)
// "500:400" is "400:500" and "-500:-400" is "-400:-500"; normalised so |first| <= |last|.
read_result<search_partial_range> read_partial_range(cursor& c) {
  auto r = c.rest();
  size_t n = 0;
  while (n < r.size() && r[n] != ' ' && r[n] != '(' && r[n] != ')' && r[n] != '\r' && r[n] != '\n')
    ++n;
  if (n == 0) return expected_at(c, "a range like 1:100 or -1:-100", "after PARTIAL");
  const auto text = r.substr(0, n);
  const size_t at = c.offset();
  auto fail = [&](std::string words) {
    auto e = error_at(c, std::move(words));
    e.offset = at;
    return e;
  };
  const std::string shown = "PARTIAL range " + quote(text);
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos)
    return fail(shown + " is not a range (expected two positions, as in 1:100 or -1:-100)");
  std::string_view ends[2] = {text.substr(0, colon), text.substr(colon + 1)};
  bool negative[2] = {false, false};
  int64_t value[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    auto& e = ends[i];
    negative[i] = !e.empty() && e.front() == '-';
    if (negative[i]) e.remove_prefix(1);
    bool digits = !e.empty();
    for (char ch : e) digits = digits && detail::is_digit(ch);
    if (!digits)
      return fail(shown + " is not two numbers joined by \":\" (as in 1:100 or -1:-100; no " +
                  "\"*\", RFC 9394)");
    if (!is_nz_digits(e))
      return fail(shown + " has a zero or a leading zero: positions count from 1, or from -1 " +
                  "at the end (RFC 9394)");
    if (e.size() > 10) return fail(shown + " is too large (at most 4294967295)");
    uint64_t v = 0;
    for (char ch : e) v = v * 10 + static_cast<uint64_t>(ch - '0');
    if (v > 4294967295u) return fail(shown + " is too large (at most 4294967295)");
    value[i] = negative[i] ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
  }
  if (negative[0] != negative[1])
    return fail(shown + " mixes signs: both ends count from the first result (1:100) or " +
                "both from the last (-1:-100) (RFC 9394)");
  detail::advance(c, n);
  search_partial_range p;
  bool swap = negative[0] ? value[0] < value[1] : value[0] > value[1];
  p.first = swap ? value[1] : value[0];
  p.last = swap ? value[0] : value[1];
  return p;
}

// One search-return-opt (RFC 4731 §3.1, RFC 5182 §2, RFC 5267 §4, RFC 9394 §3.1, RFC 6203
// §4), `o` its name as sent.
checked read_return_option(cursor& c, std::string_view o, size_t at, search_return& ret) {
  auto fail = [&](std::string words) {
    auto e = error_at(c, std::move(words));
    e.offset = at;
    return e;
  };
  if (base::iequals(o, "MIN")) {
    ret.ret_min = true;
  } else if (base::iequals(o, "MAX")) {
    ret.ret_max = true;
  } else if (base::iequals(o, "ALL")) {
    // RFC 9394 §3.1: "either one PARTIAL, one ALL, or neither".
    if (ret.partial) return fail("RETURN options PARTIAL and ALL cannot be combined");
    ret.ret_all = true;
  } else if (base::iequals(o, "COUNT")) {
    ret.ret_count = true;
  } else if (base::iequals(o, "SAVE")) {
    ret.ret_save = true;
  } else if (base::iequals(o, "PARTIAL")) {
    if (ret.ret_all) return fail("RETURN options PARTIAL and ALL cannot be combined");
    if (ret.partial) return fail("RETURN option PARTIAL given twice");
    if (auto sp = c.expect_sp("after PARTIAL"); !sp) return sp.error();
    auto p = read_partial_range(c);
    if (!p) return p.error();
    ret.partial = *p;
  } else if (base::iequals(o, "RELEVANCY")) {
    ret.ret_relevancy = true;
  } else if (base::iequals(o, "CONTEXT")) {
    ret.ret_context = true;
  } else if (base::iequals(o, "UPDATE")) {
    ret.ret_update = true;
  } else {
    return fail("unknown RETURN option " + quote(o) +
                " (expected MIN, MAX, ALL, COUNT, SAVE, PARTIAL, RELEVANCY, CONTEXT or UPDATE)");
  }
  return std::monostate{};
}

}  // namespace

bool parse_search_date(std::string_view s, int64_t& days) {
  static constexpr std::array<std::string_view, 12> months{
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  // d-Mon-yyyy or dd-Mon-yyyy
  size_t dash = s.find('-');
  if (dash != 1 && dash != 2) return false;
  if (s.size() != dash + 9 || s[dash + 4] != '-') return false;
  unsigned day = 0;
  for (size_t i = 0; i < dash; ++i) {
    if (!detail::is_digit(s[i])) return false;
    day = day * 10 + static_cast<unsigned>(s[i] - '0');
  }
  unsigned month = 0;
  for (unsigned m = 0; m < 12; ++m)
    if (base::iequals(s.substr(dash + 1, 3), months[m])) month = m + 1;
  if (month == 0) return false;
  int64_t year = 0;
  for (size_t i = dash + 5; i < s.size(); ++i) {
    if (!detail::is_digit(s[i])) return false;
    year = year * 10 + (s[i] - '0');
  }
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  static constexpr std::array<unsigned, 12> lengths{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  unsigned last = lengths[month - 1] + (month == 2 && leap ? 1 : 0);
  if (day == 0 || day > last) return false;
  days = days_from_civil(year, month, day);
  return true;
}

// search-return-opts = SP "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")"
checked read_search_return(cursor& c, search_return& ret) {
  if (!base::iequals(detail::peek_atom(c), "RETURN")) return expected_at(c, "RETURN");
  detail::advance(c, 6);
  if (auto sp = c.expect_sp("after RETURN"); !sp) return sp.error();
  if (auto open = c.expect_open("to start the RETURN options"); !open) return open.error();
  ret.has_return = true;
  if (c.skip(')')) {
    ret.ret_all = true;  // RFC 4731 §3.1
    return std::monostate{};
  }
  for (;;) {
    size_t at = c.offset();
    auto o = c.read_atom("a RETURN option");
    if (!o) return o.error();
    if (auto r = read_return_option(c, *o, at, ret); !r) return r;
    if (c.skip(' ')) continue;
    if (c.skip(')')) return std::monostate{};
    return expected_at(c, "SP or \")\"", "in the RETURN options");
  }
}

read_result<search_key> read_search_keys(cursor& c, search_command in) {
  search_key root;
  root.what = kind::and_;
  key_parser p(c, in);
  do {
    auto k = p.read_key(0);
    if (!k) return k.error();
    root.children.push_back(std::move(*k));
  } while (c.skip(' '));
  return root;
}

bool has_fuzzy(const search_key& k) {
  if (k.fuzzy) return true;
  for (const auto& child : k.children)
    if (has_fuzzy(child)) return true;
  return false;
}

read_result<search_request> parse_search(std::string_view args) {
  cursor c(args);
  search_request req;
  req.root.what = kind::and_;
  if (base::iequals(detail::peek_atom(c), "RETURN")) {
    if (auto r = read_search_return(c, req); !r) return r.error();
    if (auto sp = c.expect_sp("after the RETURN options"); !sp) return sp.error();
  }
  if (base::iequals(detail::peek_atom(c), "CHARSET")) {
    detail::advance(c, 7);
    if (auto sp = c.expect_sp("after CHARSET"); !sp) return sp.error();
    auto cs = c.read_astring("a charset name");
    if (!cs) return cs.error();
    req.charset = std::move(*cs);
    if (auto sp = c.expect_sp("after the charset"); !sp) return sp.error();
  }
  auto root = read_search_keys(c, search_command::search);
  if (!root) return root.error();
  req.root = std::move(*root);
  if (auto end = detail::finish(c); !end) return end.error();
  // RFC 6203 §4: "The RELEVANCY return option MUST NOT be used unless a FUZZY search key
  // is also given."
  if (req.ret_relevancy && !has_fuzzy(req.root))
    return error_at(c, "RETURN (RELEVANCY) needs a FUZZY search key (RFC 6203)");
  return req;
}

}  // namespace postern::proto::imap
