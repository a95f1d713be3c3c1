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

class key_parser {
 public:
  explicit key_parser(cursor& c) : c_(c) {}
  read_result<search_key> read_key(size_t depth);

 private:
  read_result<search_key> read_group(size_t depth);
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
  for (const auto& def : keys) {
    if (!base::iequals(def.name, *name)) continue;
    if (def.name == "RETURN" || def.name == "CHARSET") {
      auto e = error_at(c_, std::string(def.name) + " must come before the search keys" +
                                (def.name == "CHARSET" ? "" : " and before CHARSET"));
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

// search-return-opts = SP "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")"
checked read_return(cursor& c, search_request& req) {
  if (auto sp = c.expect_sp("after RETURN"); !sp) return sp.error();
  if (auto open = c.expect_open("to start the RETURN options"); !open) return open.error();
  req.has_return = true;
  if (c.skip(')')) {
    req.ret_all = true;  // RFC 4731 §3.1
    return std::monostate{};
  }
  for (;;) {
    size_t at = c.offset();
    auto o = c.read_atom("a RETURN option");
    if (!o) return o.error();
    if (base::iequals(*o, "MIN")) {
      req.ret_min = true;
    } else if (base::iequals(*o, "MAX")) {
      req.ret_max = true;
    } else if (base::iequals(*o, "ALL")) {
      req.ret_all = true;
    } else if (base::iequals(*o, "COUNT")) {
      req.ret_count = true;
    } else if (base::iequals(*o, "SAVE")) {
      req.ret_save = true;
    } else {
      auto e = error_at(
          c, "unknown RETURN option " + quote(*o) + " (expected MIN, MAX, ALL, COUNT or SAVE)");
      e.offset = at;
      return e;
    }
    if (c.skip(' ')) continue;
    if (c.skip(')')) return std::monostate{};
    return expected_at(c, "SP or \")\"", "in the RETURN options");
  }
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

read_result<search_request> parse_search(std::string_view args) {
  cursor c(args);
  search_request req;
  req.root.what = kind::and_;
  if (base::iequals(detail::peek_atom(c), "RETURN")) {
    detail::advance(c, 6);
    if (auto r = read_return(c, req); !r) return r.error();
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
  key_parser p(c);
  do {
    auto k = p.read_key(0);
    if (!k) return k.error();
    req.root.children.push_back(std::move(*k));
  } while (c.skip(' '));
  if (auto end = detail::finish(c); !end) return end.error();
  return req;
}

}  // namespace postern::proto::imap
