#include "proto/imap/sort_args.hpp"

#include <array>

#include "base/strings.hpp"
#include "proto/imap/parse_helpers.hpp"

namespace postern::proto::imap {

namespace {

using detail::error_at;
using detail::expected_at;
using detail::quote;
using sort_key = sort_criterion::key;

struct sort_key_def {
  std::string_view name;
  sort_key what;
};

// RFC 5256 §5 sort-key, RFC 5957 §5, RFC 6203 §7.
constexpr std::array<sort_key_def, 10> sort_keys{{
    {"ARRIVAL", sort_key::arrival},
    {"CC", sort_key::cc},
    {"DATE", sort_key::date},
    {"FROM", sort_key::from},
    {"SIZE", sort_key::size},
    {"SUBJECT", sort_key::subject},
    {"TO", sort_key::to},
    {"DISPLAYFROM", sort_key::displayfrom},
    {"DISPLAYTO", sort_key::displayto},
    {"RELEVANCY", sort_key::relevancy},
}};

constexpr std::string_view sort_key_names =
    "ARRIVAL, CC, DATE, FROM, SIZE, SUBJECT, TO, DISPLAYFROM, DISPLAYTO or RELEVANCY";

syntax_error error_from(const cursor& c, size_t at, std::string words) {
  auto e = error_at(c, std::move(words));
  e.offset = at;
  return e;
}

// sort-criterion = ["REVERSE" SP] sort-key
read_result<sort_criterion> read_criterion(cursor& c) {
  sort_criterion out;
  size_t at = c.offset();
  auto name = c.read_atom("a sort criterion");
  if (!name) return name.error();
  if (base::iequals(*name, "REVERSE")) {
    out.reverse = true;
    if (!c.skip(' ')) return expected_at(c, "SP and a sort key", "after REVERSE");
    at = c.offset();
    name = c.read_atom("a sort key after REVERSE");
    if (!name) return name.error();
    if (base::iequals(*name, "REVERSE"))
      return error_from(c, at, "REVERSE must be followed by a sort key, not another REVERSE");
  }
  for (const auto& def : sort_keys) {
    if (!base::iequals(def.name, *name)) continue;
    out.what = def.what;
    return out;
  }
  return error_from(
      c, at,
      "unknown sort key " + quote(*name) + " (expected " + std::string(sort_key_names) + ")");
}

// sort-criteria = "(" sort-criterion *(SP sort-criterion) ")"
checked read_criteria(cursor& c, std::vector<sort_criterion>& out) {
  if (auto open = c.expect_open("to start the sort criteria"); !open) return open.error();
  if (c.peek(')'))
    return error_at(c, "the sort criteria are empty (expected at least one, as in (DATE))");
  for (;;) {
    if (out.size() == max_sort_criteria)
      return error_at(c, "more than " + std::to_string(max_sort_criteria) + " sort criteria");
    auto k = read_criterion(c);
    if (!k) return k.error();
    out.push_back(*k);
    if (c.skip(' ')) continue;
    if (c.skip(')')) return std::monostate{};
    return expected_at(c, "SP or \")\"", "in the sort criteria");
  }
}

// search-criteria = charset 1*(SP search-key); charset = atom / quoted (RFC 5256 §5), here
// also a literal. Ends after the last key and the optional CRLF.
checked read_search_criteria(cursor& c, search_command in, std::string& charset, search_key& root) {
  size_t at = c.offset();
  auto cs = c.read_astring("a charset name");
  if (!cs) return cs.error();
  const bool sort = in == search_command::sort;
  if (base::iequals(*cs, "CHARSET"))
    return error_from(c, at,
                      std::string(sort ? "SORT" : "THREAD") +
                          " takes the charset without the word CHARSET (as in UTF-8 ALL)");
  if (base::iequals(*cs, "RETURN"))
    return error_from(c, at,
                      sort ? "RETURN must come right after SORT, before the sort criteria "
                             "(RFC 5267)"
                           : "THREAD takes no RETURN options");
  charset = std::move(*cs);
  if (auto sp = c.expect_sp("after the charset"); !sp) return sp.error();
  auto keys = read_search_keys(c, in);
  if (!keys) return keys.error();
  root = std::move(*keys);
  return detail::finish(c);
}

}  // namespace

read_result<sort_request> parse_sort(std::string_view args) {
  cursor c(args);
  sort_request req;
  req.root.what = search_key::kind::and_;
  // RFC 5267 §5: extended-sort = ["UID" SP] "SORT" search-return-opts SP sort-criteria ...
  if (base::iequals(detail::peek_atom(c), "RETURN")) {
    if (auto r = read_search_return(c, req); !r) return r.error();
    if (auto sp = c.expect_sp("after the RETURN options"); !sp) return sp.error();
  }
  if (auto r = read_criteria(c, req.criteria); !r) return r.error();
  if (auto sp = c.expect_sp("after the sort criteria"); !sp) return sp.error();
  if (auto r = read_search_criteria(c, search_command::sort, req.charset, req.root); !r)
    return r.error();
  // RFC 6203 §4 and §6: RELEVANCY, as a return option or a sort key, "MUST NOT be used
  // unless a FUZZY search key is also given".
  bool relevancy = req.ret_relevancy;
  for (const auto& k : req.criteria) relevancy = relevancy || k.what == sort_key::relevancy;
  if (relevancy && !has_fuzzy(req.root))
    return error_at(c, "RELEVANCY needs a FUZZY search key (RFC 6203)");
  return req;
}

// thread = ["UID" SP] "THREAD" SP thread-alg SP search-criteria
// thread-alg = "ORDEREDSUBJECT" / "REFERENCES" / thread-alg-ext       (RFC 5256 §5)
read_result<thread_request> parse_thread(std::string_view args) {
  cursor c(args);
  thread_request req;
  req.root.what = search_key::kind::and_;
  size_t at = c.offset();
  auto alg = c.read_atom("a threading algorithm");
  if (!alg) return alg.error();
  if (base::iequals(*alg, "ORDEREDSUBJECT")) {
    req.algorithm = thread_algorithm::orderedsubject;
  } else if (base::iequals(*alg, "REFERENCES")) {
    req.algorithm = thread_algorithm::references;
  } else if (base::iequals(*alg, "REFS")) {
    req.algorithm = thread_algorithm::refs;
  } else if (base::iequals(*alg, "RETURN")) {
    return error_from(c, at, "THREAD takes no RETURN options");
  } else {
    return error_from(c, at,
                      "unknown threading algorithm " + quote(*alg) +
                          " (expected ORDEREDSUBJECT, REFERENCES or REFS)");
  }
  if (auto sp = c.expect_sp("after the threading algorithm"); !sp) return sp.error();
  if (auto r = read_search_criteria(c, search_command::thread, req.charset, req.root); !r)
    return r.error();
  return req;
}

}  // namespace postern::proto::imap
