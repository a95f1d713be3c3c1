// IMAP argument parsers (FETCH, STORE, SEARCH, SORT, THREAD, flag lists) and modified
// UTF-7: no input crashes or hangs them; errors carry printable words and an offset inside
// the input; whether a command parses does not depend on the case of its letters; results
// keep the documented limits; mUTF-7 decoding accepts only what encoding gives back
// unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proto/imap/fetch_items.hpp"
#include "proto/imap/mutf7.hpp"
#include "proto/imap/search_keys.hpp"
#include "proto/imap/sort_args.hpp"
#include "proto/imap/store_args.hpp"
#include "proto/imap/tokenizer.hpp"

namespace imap = postern::proto::imap;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool printable(std::string_view s) {
  for (char c : s)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

template <class T>
void check_error(const imap::read_result<T>& r, std::string_view in) {
  if (r) return;
  check(!r.error().words.empty() && printable(r.error().words));
  check(r.error().offset <= in.size());
}

std::string with_case(std::string_view s, bool upper) {
  std::string out(s);
  for (auto& c : out) {
    if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

// Depth counts NOT, OR and lists as parse_search does; returns the number of keys.
size_t walk(const imap::search_key& k, size_t depth) {
  using kind = imap::search_key::kind;
  check(depth <= imap::max_search_depth + 1);
  if (k.what == kind::not_) check(k.children.size() == 1);
  if (k.what == kind::or_) check(k.children.size() == 2);
  if (k.what == kind::and_) check(!k.children.empty());
  size_t n = 1;
  for (const auto& c : k.children) n += walk(c, depth + 1);
  return n;
}

void fetch(std::string_view in) {
  auto r = imap::parse_fetch(in);
  check_error(r, in);
  for (bool upper : {false, true}) check(imap::parse_fetch(with_case(in, upper)).ok() == r.ok());
  if (!r) return;
  check(!r->items.empty() && r->items.size() <= imap::max_fetch_items);
  check(!r->vanished || r->changed_since);
  for (const auto& a : r->items) {
    check(!a.response_name.empty() && printable(a.response_name));
    check(a.section.fields.size() <= imap::max_header_fields);
    check(a.section.part.size() <= imap::max_section_depth);
    if (a.partial) check(a.partial->length > 0);
    if (a.what == imap::fetch_att::kind::binary || a.what == imap::fetch_att::kind::binary_size)
      check(a.section.what == imap::section_spec::text::all);
    if (a.section.what == imap::section_spec::text::mime) check(!a.section.part.empty());
  }
}

void store(std::string_view in) {
  auto r = imap::parse_store(in);
  check_error(r, in);
  for (bool upper : {false, true}) check(imap::parse_store(with_case(in, upper)).ok() == r.ok());
  if (!r) return;
  check(r->flags.size() <= imap::max_store_flags);
  for (const auto& f : r->flags) {
    check(!f.empty());
    if (f[0] == '\\')
      check(f == "\\Seen" || f == "\\Answered" || f == "\\Flagged" || f == "\\Deleted" ||
            f == "\\Draft");
  }
}

// FUZZY marks a key and everything inside it.
void check_fuzzy(const imap::search_key& k) {
  for (const auto& c : k.children) {
    if (k.fuzzy) check(c.fuzzy);
    check_fuzzy(c);
  }
}

// What read_search_keys promises of any result, whichever command it came from.
void check_keys(const imap::search_key& root) {
  check(root.what == imap::search_key::kind::and_ && !root.children.empty());
  check(walk(root, 0) <= imap::max_search_keys + 1);
  check_fuzzy(root);
}

// RETURN options as parse_search and parse_sort leave them (RFC 9394 §3.1, §4; RFC 6203 §4).
void check_return(const imap::search_return& r, const imap::search_key& root) {
  if (!r.has_return)
    check(!r.ret_min && !r.ret_max && !r.ret_all && !r.ret_count && !r.ret_save &&
          !r.ret_relevancy && !r.ret_context && !r.partial);
  if (r.partial) {
    const auto [first, last] = *r.partial;
    check(!r.ret_all && first != 0 && last != 0 && (first > 0) == (last > 0));
    check(first > 0 ? first <= last : first >= last);
    check(last <= 4294967295 && last >= -4294967295);
  }
  if (r.ret_relevancy) check(imap::has_fuzzy(root));
}

void search(std::string_view in) {
  auto r = imap::parse_search(in);
  check_error(r, in);
  for (bool upper : {false, true}) check(imap::parse_search(with_case(in, upper)).ok() == r.ok());
  if (!r) return;
  check_keys(r->root);
  check_return(*r, r->root);
}

void sort(std::string_view in) {
  auto r = imap::parse_sort(in);
  check_error(r, in);
  for (bool upper : {false, true}) check(imap::parse_sort(with_case(in, upper)).ok() == r.ok());
  if (!r) return;
  check(!r->criteria.empty() && r->criteria.size() <= imap::max_sort_criteria);
  check_keys(r->root);
  check_return(*r, r->root);
  for (const auto& k : r->criteria)
    if (k.what == imap::sort_criterion::key::relevancy) check(imap::has_fuzzy(r->root));
}

void thread(std::string_view in) {
  auto r = imap::parse_thread(in);
  check_error(r, in);
  for (bool upper : {false, true}) check(imap::parse_thread(with_case(in, upper)).ok() == r.ok());
  if (!r) return;
  check_keys(r->root);
}

void flag_list(std::string_view in) {
  imap::cursor c(in);
  auto r = imap::read_flag_list(c);
  check_error(r, in);
  if (!r) check(c.offset() == 0);
  if (r) check(c.offset() >= 2 && c.offset() <= in.size());
}

void mutf7(std::string_view in) {
  auto d = imap::decode_mutf7(in);
  if (!d) {
    check(!d.error().words.empty() && printable(d.error().words));
    check(d.error().offset < in.size());
  } else {
    check(imap::valid_utf8(*d) && d->find('\0') == std::string::npos);
    check(imap::encode_mutf7(*d) == in);  // only canonical forms are accepted
  }
  auto e = imap::encode_mutf7(in);
  check(printable(e));
  auto back = imap::decode_mutf7(e);
  if (in.find('\0') == std::string_view::npos) {
    check(back.ok());
    if (imap::valid_utf8(in)) check(*back == in);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 7) {
    case 0:
      fetch(in);
      break;
    case 1:
      store(in);
      break;
    case 2:
      search(in);
      break;
    case 3:
      flag_list(in);
      break;
    case 4:
      sort(in);
      break;
    case 5:
      thread(in);
      break;
    default:
      mutf7(in);
      break;
  }
  return 0;
}
