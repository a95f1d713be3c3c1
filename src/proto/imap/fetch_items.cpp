#include "proto/imap/fetch_items.hpp"

#include <array>
#include <cctype>

#include "base/strings.hpp"
#include "proto/imap/parse_helpers.hpp"

namespace postern::proto::imap {

namespace {

using detail::error_at;
using detail::expected_at;
using detail::quote;
using kind = fetch_att::kind;
using text = section_spec::text;

struct simple_item {
  std::string_view name;
  kind what;
};

// RFC 9051 §9 fetch-att without sections, RFC 3501 §9 RFC822.*, RFC 7162 §7 MODSEQ,
// RFC 8514 §4 SAVEDATE, RFC 8474 §7 EMAILID / THREADID.
constexpr std::array<simple_item, 13> simple_items{{
    {"FLAGS", kind::flags},
    {"INTERNALDATE", kind::internaldate},
    {"RFC822.SIZE", kind::rfc822_size},
    {"RFC822", kind::rfc822},
    {"RFC822.HEADER", kind::rfc822_header},
    {"RFC822.TEXT", kind::rfc822_text},
    {"ENVELOPE", kind::envelope},
    {"BODYSTRUCTURE", kind::bodystructure},
    {"UID", kind::uid},
    {"MODSEQ", kind::modseq},
    {"SAVEDATE", kind::savedate},
    {"EMAILID", kind::emailid},
    {"THREADID", kind::threadid},
}};

fetch_att simple(kind what, std::string_view name) {
  fetch_att a;
  a.what = what;
  a.response_name = name;
  // RFC 3501 §6.4.5: the BODY equivalents, so the session can serve them alike.
  if (what == kind::rfc822_header) {
    a.section.what = text::header;
    a.peek = true;
  } else if (what == kind::rfc822_text) {
    a.section.what = text::text;
  }
  return a;
}

// RFC 9051 §6.4.5 macros.
std::vector<fetch_att> expand_macro(std::string_view name) {
  std::vector<fetch_att> out{simple(kind::flags, "FLAGS"),
                             simple(kind::internaldate, "INTERNALDATE"),
                             simple(kind::rfc822_size, "RFC822.SIZE")};
  if (base::iequals(name, "FAST")) return out;
  out.push_back(simple(kind::envelope, "ENVELOPE"));
  if (base::iequals(name, "FULL")) out.push_back(simple(kind::body_structure_short, "BODY"));
  return out;
}

bool is_macro(std::string_view name) {
  return base::iequals(name, "ALL") || base::iequals(name, "FAST") || base::iequals(name, "FULL");
}

// RFC 5322 §3.6.8: ftext = %d33-57 / %d59-126.
bool valid_field_name(std::string_view s) {
  if (s.empty()) return false;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 33 || c > 126 || c == ':') return false;
  }
  return true;
}

bool is_atom_text(std::string_view s) {
  for (char c : s)
    if (std::string_view("(){%*\"\\]").find(c) != std::string_view::npos) return false;
  return true;  // field names are already printable ASCII without SP
}

// header-list = "(" header-fld-name *(SP header-fld-name) ")"
read_result<std::vector<std::string>> read_header_list(cursor& c, std::string_view after) {
  std::string where = "after ";
  where += after;
  if (auto sp = c.expect_sp(where); !sp) return sp.error();
  if (auto open = c.expect_open("to start the header field list"); !open) return open.error();
  if (c.peek(')')) return error_at(c, std::string(after) + " needs at least one header field name");
  std::vector<std::string> fields;
  for (;;) {
    if (fields.size() == max_header_fields)
      return error_at(c, "more than " + std::to_string(max_header_fields) + " header fields");
    size_t at = c.offset();
    auto f = c.read_astring("a header field name");
    if (!f) return f.error();
    if (!valid_field_name(*f)) {
      auto e = error_at(c, "header field name " + quote(*f) +
                               " is not valid (RFC 5322: printable ASCII except \":\")");
      e.offset = at;
      return e;
    }
    fields.push_back(std::move(*f));
    if (c.skip(' ')) continue;
    if (c.skip(')')) return fields;
    return expected_at(c, "SP or \")\"", "in the header field list");
  }
}

// The keyword run of a section: letters and dots ("HEADER.FIELDS.NOT").
std::string_view peek_section_word(const cursor& c) {
  auto r = c.rest();
  size_t n = 0;
  while (n < r.size() && (std::isalpha(static_cast<unsigned char>(r[n])) || r[n] == '.')) ++n;
  return r.substr(0, n);
}

// section = "[" [section-spec] "]"; the "[" is next.
read_result<section_spec> read_section(cursor& c, std::string_view item) {
  c.skip('[');
  section_spec s;
  if (c.skip(']')) return s;
  // section-part ["." section-text]: part numbers, then maybe "." and a keyword.
  bool dot = s.part.empty();
  while (!c.rest().empty() && detail::is_digit(c.rest().front())) {
    auto n = c.read_nz_number("a non-zero section part number");
    if (!n) return n.error();
    if (s.part.size() == max_section_depth)
      return error_at(
          c, "section has more than " + std::to_string(max_section_depth) + " part numbers");
    s.part.push_back(*n);
    dot = c.skip('.');
    if (!dot) break;
    if (c.rest().empty() || !detail::is_digit(c.rest().front())) {
      if (peek_section_word(c).empty())
        return expected_at(c, "a part number, HEADER, HEADER.FIELDS, TEXT or MIME", "after \".\"");
      break;
    }
  }
  auto word = dot ? peek_section_word(c) : std::string_view{};
  if (!word.empty()) {
    std::string_view canonical;
    if (base::iequals(word, "HEADER")) {
      s.what = text::header;
    } else if (base::iequals(word, "HEADER.FIELDS")) {
      s.what = text::header_fields;
      canonical = "HEADER.FIELDS";
    } else if (base::iequals(word, "HEADER.FIELDS.NOT")) {
      s.what = text::header_fields_not;
      canonical = "HEADER.FIELDS.NOT";
    } else if (base::iequals(word, "TEXT")) {
      s.what = text::text;
    } else if (base::iequals(word, "MIME")) {
      // RFC 9051 §6.4.5: MIME must be prefixed by one or more part numbers.
      if (s.part.empty())
        return error_at(c, std::string(item) + "[MIME] needs a part number, as in " +
                               std::string(item) + "[1.MIME]");
      s.what = text::mime;
    } else {
      return error_at(c, "unknown section " + quote(word) +
                             " (expected HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT" +
                             (s.part.empty() ? "" : ", MIME") + " or a part number)");
    }
    detail::advance(c, word.size());
    if (!canonical.empty()) {
      auto fields = read_header_list(c, canonical);
      if (!fields) return fields.error();
      s.fields = std::move(*fields);
    }
  }
  if (!c.skip(']')) return expected_at(c, "\"]\"", "to close the section");
  return s;
}

// partial = "<" number64 "." nz-number64 ">" (RFC 9051 §9); the "<" is next.
read_result<partial_range> read_partial(cursor& c) {
  c.skip('<');
  partial_range p;
  auto off = c.read_number64("a partial offset after \"<\"");
  if (!off) return off.error();
  p.offset = *off;
  if (!c.skip('.')) return expected_at(c, "\".\"", "between the partial offset and length");
  auto len = c.read_number64("a partial length");
  if (!len) return len.error();
  if (*len == 0) return error_at(c, "partial length must not be 0");
  p.length = *len;
  if (!c.skip('>')) return expected_at(c, "\">\"", "to close the partial range");
  return p;
}

void name_section(fetch_att& a, std::string_view base) {
  a.response_name = base;
  a.response_name += '[';
  a.response_name += section_text(a.section);
  a.response_name += ']';
  if (a.partial) a.response_name += "<" + std::to_string(a.partial->offset) + ">";
}

// BODY[...], BODY.PEEK[...], BINARY[...], BINARY.PEEK[...], BINARY.SIZE[...]; `name` is
// the item as sent, the "[" is next.
read_result<fetch_att> read_section_item(cursor& c, std::string_view name) {
  fetch_att a;
  bool binary = base::iequals(name.substr(0, 6), "BINARY");
  a.peek = base::iequals(name, "BODY.PEEK") || base::iequals(name, "BINARY.PEEK");
  a.what = !binary                              ? kind::body_section
           : base::iequals(name, "BINARY.SIZE") ? kind::binary_size
                                                : kind::binary;
  std::string_view base_name = !binary                       ? "BODY"
                               : a.what == kind::binary_size ? "BINARY.SIZE"
                                                             : "BINARY";
  size_t at = c.offset();
  auto s = read_section(c, base_name);
  if (!s) return s.error();
  a.section = std::move(*s);
  // RFC 3516 §4.1: section-binary = "[" [section-part] "]".
  if (binary && a.section.what != text::all) {
    auto e = error_at(c, std::string(base_name) + " sections are part numbers only (RFC 3516)");
    e.offset = at;
    return e;
  }
  if (c.peek('<')) {
    if (a.what == kind::binary_size) return error_at(c, "BINARY.SIZE takes no partial range");
    auto p = read_partial(c);
    if (!p) return p.error();
    a.partial = *p;
  }
  name_section(a, base_name);
  return a;
}

read_result<fetch_att> read_att(cursor& c) {
  auto atom = detail::peek_atom(c);
  auto name = atom.substr(0, atom.find('['));
  if (name.empty()) return expected_at(c, "a FETCH item");
  for (const auto& item : simple_items) {
    if (!base::iequals(name, item.name)) continue;
    detail::advance(c, name.size());
    if (c.peek('[') || c.peek('<'))
      return error_at(c, "FETCH item " + std::string(item.name) + " takes no section");
    return simple(item.what, item.name);
  }
  if (base::iequals(name, "PREVIEW")) {
    // RFC 8970 §3: fetch-att =/ "PREVIEW" [SP "(" preview-mod *(SP preview-mod) ")"],
    // preview-mod = "LAZY". LAZY lets a server answer NIL while it has no preview yet;
    // previews are kept at delivery here, so it changes nothing.
    detail::advance(c, name.size());
    auto r = c.rest();
    if (r.size() >= 2 && r[0] == ' ' && r[1] == '(') {
      c.skip(' ');
      c.skip('(');
      for (;;) {
        auto mod = detail::peek_atom(c);
        if (!base::iequals(mod, "LAZY"))
          return error_at(c, "unknown PREVIEW modifier " + quote(mod) + " (RFC 8970: LAZY)");
        detail::advance(c, mod.size());
        if (c.skip(')')) break;
        if (!c.skip(' ')) return expected_at(c, "SP or \")\"", "in the PREVIEW modifiers");
      }
    }
    return simple(kind::preview, "PREVIEW");
  }
  bool body = base::iequals(name, "BODY");
  if (body || base::iequals(name, "BODY.PEEK") || base::iequals(name, "BINARY") ||
      base::iequals(name, "BINARY.PEEK") || base::iequals(name, "BINARY.SIZE")) {
    detail::advance(c, name.size());
    if (c.peek('[')) return read_section_item(c, name);
    if (body) return simple(kind::body_structure_short, "BODY");
    return error_at(
        c, base::to_upper(name) + " needs a section, as in " + base::to_upper(name) + "[]");
  }
  if (is_macro(name))
    return error_at(c, "FETCH macro " + base::to_upper(name) + " must stand alone, not in a list");
  return error_at(c, "unknown FETCH item " + quote(atom));
}

// fetch-modifiers = SP "(" fetch-modifier *(SP fetch-modifier) ")" (RFC 4466 §2.4).
checked read_modifiers(cursor& c, fetch_request& req) {
  if (auto open = c.expect_open("to start the FETCH modifiers"); !open) return open.error();
  for (;;) {
    size_t at = c.offset();
    auto m = c.read_atom("a FETCH modifier");
    if (!m) return m.error();
    if (base::iequals(*m, "CHANGEDSINCE")) {
      if (req.changed_since) return error_at(c, "CHANGEDSINCE given twice");
      if (auto sp = c.expect_sp("after CHANGEDSINCE"); !sp) return sp.error();
      auto v = c.read_number64("a mod-sequence after CHANGEDSINCE");
      if (!v) return v.error();
      req.changed_since = *v;
    } else if (base::iequals(*m, "VANISHED")) {
      if (req.vanished) return error_at(c, "VANISHED given twice");
      req.vanished = true;
    } else {
      auto e = error_at(c, "unknown FETCH modifier " + quote(*m));
      e.offset = at;
      return e;
    }
    if (c.skip(' ')) continue;
    if (c.skip(')')) break;
    return expected_at(c, "SP or \")\"", "in the FETCH modifiers");
  }
  if (req.vanished && !req.changed_since)
    return error_at(c, "VANISHED needs CHANGEDSINCE (RFC 7162)");
  return std::monostate{};
}

checked read_items(cursor& c, std::vector<fetch_att>& items) {
  if (!c.skip('(')) {
    auto name = detail::peek_atom(c);
    if (is_macro(name)) {
      detail::advance(c, name.size());
      items = expand_macro(name);
      return std::monostate{};
    }
    auto a = read_att(c);
    if (!a) return a.error();
    items.push_back(std::move(*a));
    return std::monostate{};
  }
  if (c.peek(')')) return error_at(c, "FETCH item list is empty");
  for (;;) {
    if (items.size() == max_fetch_items)
      return error_at(c, "more than " + std::to_string(max_fetch_items) + " FETCH items");
    auto a = read_att(c);
    if (!a) return a.error();
    items.push_back(std::move(*a));
    if (c.skip(' ')) continue;
    if (c.skip(')')) return std::monostate{};
    return expected_at(c, "SP or \")\"", "in the FETCH item list");
  }
}

std::string render_field(const std::string& f) {
  if (is_atom_text(f)) return f;
  std::string out = "\"";
  for (char ch : f) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "\"";
}

}  // namespace

std::string section_text(const section_spec& s) {
  std::string out;
  for (size_t i = 0; i < s.part.size(); ++i) {
    if (i > 0) out += '.';
    out += std::to_string(s.part[i]);
  }
  std::string_view word;
  switch (s.what) {
    case text::all:
      return out;
    case text::header:
      word = "HEADER";
      break;
    case text::header_fields:
      word = "HEADER.FIELDS";
      break;
    case text::header_fields_not:
      word = "HEADER.FIELDS.NOT";
      break;
    case text::text:
      word = "TEXT";
      break;
    case text::mime:
      word = "MIME";
      break;
  }
  if (!out.empty()) out += '.';
  out += word;
  if (s.what == text::header_fields || s.what == text::header_fields_not) {
    out += " (";
    for (size_t i = 0; i < s.fields.size(); ++i) {
      if (i > 0) out += ' ';
      out += render_field(s.fields[i]);
    }
    out += ')';
  }
  return out;
}

read_result<fetch_request> parse_fetch(std::string_view args) {
  cursor c(args);
  fetch_request req;
  auto set = c.read_sequence_set("a sequence set");
  if (!set) return set.error();
  req.set = std::move(*set);
  if (auto sp = c.expect_sp("after the sequence set"); !sp) return sp.error();
  if (auto items = read_items(c, req.items); !items) return items.error();
  if (c.skip(' ')) {
    if (auto m = read_modifiers(c, req); !m) return m.error();
  }
  if (auto end = detail::finish(c); !end) return end.error();
  return req;
}

}  // namespace postern::proto::imap
