// IMAP strings and ENVELOPE (imap_structure.hpp).
//
// The address parser is ours, not GMime's internet_address_list_parse(): GMime
// decodes RFC 2047 words in display names to UTF-8, while an ENVELOPE carries them
// as they are in the header for the client to decode (RFC 9051 §7.5.2 sends the
// header's phrase), and it drops the obsolete route, which RFC 9051 sends as adl.
#include <cstring>
#include <optional>
#include <vector>

#include "mime/imap_structure.hpp"

namespace postern::mime {
namespace {

// Longer strings go as literals: a quoted string is meant for short values and
// some clients limit its length.
constexpr size_t max_quoted = 1024;
constexpr std::string_view replacement_char = "\xEF\xBF\xBD";  // U+FFFD

bool is_wsp(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// RFC 5322 §3.2.3 specials, which end an atom.
bool is_special(char c) { return std::strchr("()<>[]:;@\\,.\"", c) != nullptr; }

// One lexical token of an address header (RFC 5322 §3.2).
struct token {
  enum kind_t { atom, quoted, literal, special } kind;
  std::string text;           // atom and literal: as written; quoted: unescaped content
  char ch = 0;                // special: the character
  bool space_before = false;  // white space or a comment came before it
  std::string comment_after;  // the text of a comment right after it, "(Real Name)"
  bool is(char c) const { return kind == special && ch == c; }
};

// RFC 5322 §3.2.2 comment, nested, with quoted-pairs; an unterminated one runs to
// the end.
size_t skip_comment(std::string_view s, size_t i) {
  size_t depth = 0;
  while (i < s.size()) {
    const char c = s[i++];
    if (c == '\\') {
      if (i < s.size()) ++i;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')' && --depth == 0) {
      break;
    }
  }
  return i;
}

std::vector<token> tokenize(std::string_view s) {
  std::vector<token> out;
  bool space = false;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (is_wsp(c)) {
      space = true;
      ++i;
      continue;
    }
    if (c == '(') {
      space = true;
      size_t end = skip_comment(s, i);
      bool closed = end > i + 1 && s[end - 1] == ')';
      if (closed && !out.empty() && out.back().comment_after.empty()) {
        auto inner = s.substr(i + 1, end - i - 1);
        if (!inner.empty() && inner.back() == ')') inner.remove_suffix(1);
        out.back().comment_after = std::string(inner);
      }
      i = end;
      continue;
    }
    token t{token::atom, std::string(), 0, space, {}};
    space = false;
    if (c == '"') {
      // RFC 5322 §3.2.4: quoted-pairs lose their backslash; an unterminated
      // string runs to the end of the field.
      t.kind = token::quoted;
      for (++i; i < s.size() && s[i] != '"'; ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        t.text += s[i];
      }
      if (i < s.size()) ++i;
    } else if (c == '[') {
      // RFC 5322 §3.4.1 domain-literal, kept with its brackets.
      t.kind = token::literal;
      const size_t end = s.find(']', i);
      const size_t stop = end == std::string_view::npos ? s.size() : end + 1;
      t.text = s.substr(i, stop - i);
      i = stop;
    } else if (is_special(c)) {
      t.kind = token::special;
      t.ch = c;
      ++i;
    } else {
      // atext, and (RFC 6532 §3.2) any 8-bit byte.
      const size_t begin = i;
      while (i < s.size() && !is_wsp(s[i]) && !is_special(s[i])) ++i;
      t.text = s.substr(begin, i - begin);
    }
    out.push_back(std::move(t));
  }
  return out;
}

using tokens = std::vector<token>;

void append_token(std::string& out, const token& t) {
  if (t.kind == token::special) {
    out += t.ch;
  } else {
    out += t.text;
  }
}

// A display or group name: the words as written, white space between them
// collapsed to one space (so an encoded word is never split or joined).
std::string phrase(const tokens& t, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < end; ++i) {
    if (t[i].space_before && !out.empty()) out += ' ';
    append_token(out, t[i]);
  }
  return out;
}

// A local part, domain or route: RFC 5322 §4.4 lets CFWS stand between its atoms
// and dots; it is dropped.
std::string joined(const tokens& t, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < end; ++i) append_token(out, t[i]);
  return out;
}

struct address {
  std::string name, adl, mailbox, host;
};

// addr-spec over [begin, end): local-part "@" domain, split at the last "@".
void addr_spec(const tokens& t, size_t begin, size_t end, address& a) {
  size_t at = end;
  for (size_t i = begin; i < end; ++i) {
    if (t[i].is('@')) at = i;
  }
  if (at == end) {
    a.mailbox = joined(t, begin, end);
  } else {
    a.mailbox = joined(t, begin, at);
    a.host = joined(t, at + 1, end);
  }
}

class address_writer {
 public:
  explicit address_writer(std::string& out) : out_(out) {}

  void mailbox(const address& a) {
    open();
    out_ += '(';
    append_imap_nstring(out_, a.name);
    out_ += ' ';
    append_imap_nstring(out_, a.adl);
    out_ += ' ';
    append_imap_string(out_, a.mailbox.empty() ? "MISSING_MAILBOX" : a.mailbox);
    out_ += ' ';
    append_imap_string(out_, a.host.empty() ? "MISSING_DOMAIN" : a.host);
    out_ += ')';
  }
  // RFC 9051 §7.5.2: a start-of-group marker has a NIL host and the group name
  // as mailbox (an empty name is "" so that it is not read as the end marker).
  void group_start(const std::string& name) {
    open();
    out_ += "(NIL NIL ";
    append_imap_string(out_, name);
    out_ += " NIL)";
  }
  void group_end() {
    open();
    out_ += "(NIL NIL NIL NIL)";
  }
  void finish() { out_ += any_ ? ")" : "NIL"; }

 private:
  void open() {
    if (!any_) out_ += '(';
    any_ = true;
  }
  std::string& out_;
  bool any_ = false;
};

// Keeps the first mailbox of a list (groups are walked into), for sort keys.
struct first_mailbox_finder {
  std::optional<address> found;
  void mailbox(const address& a) {
    if (!found) found = a;
  }
  // A list that starts with a group is sorted by the group's name, which an
  // ENVELOPE shows in the mailbox place (RFC 9051 §7.5.2), as Dovecot does.
  void group_start(const std::string& name) {
    if (!found) found = address{"", "", name, ""};
  }
  void group_end() {}
  void finish() {}
};

// One mailbox over [begin, end); `lt` is its first top-level "<" or end.
template <class Writer>
void parse_mailbox(const tokens& t, size_t begin, size_t end, size_t lt, Writer& w) {
  address a;
  if (lt == end) {
    addr_spec(t, begin, end, a);
    // "user@domain (Real Name)": with no display name the comment is the
    // name, as Dovecot and most clients read it.
    if (end > begin) a.name = t[end - 1].comment_after;
  } else {
    a.name = phrase(t, begin, lt);
    size_t k = lt + 1;
    size_t gt = k;
    while (gt < end && !t[gt].is('>')) ++gt;
    // RFC 5322 §4.4 obs-route: "@a,@b:" before the addr-spec.
    if (k < gt && t[k].is('@')) {
      size_t colon = k;
      while (colon < gt && !t[colon].is(':')) ++colon;
      if (colon < gt) {
        a.adl = joined(t, k, colon);
        k = colon + 1;
      }
    }
    addr_spec(t, k, gt, a);
  }
  if (a.name.empty() && a.adl.empty() && a.mailbox.empty() && a.host.empty()) return;
  w.mailbox(a);
}

}  // namespace

void append_imap_string(std::string& out, std::string_view s) {
  bool quotable = s.size() <= max_quoted;
  size_t nuls = 0;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == 0) ++nuls;
    if (c == 0 || c == '\r' || c == '\n' || c >= 0x80) quotable = false;
  }
  if (quotable) {
    // RFC 9051 §9 quoted: TEXT-CHAR with quoted-specials escaped.
    out += '"';
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
    return;
  }
  // RFC 9051 §4.3 literal: any CHAR8 (no NUL), announced by its octet count.
  out += '{';
  out += std::to_string(s.size() + nuls * (replacement_char.size() - 1));
  out += "}\r\n";
  for (char c : s) {
    if (c == '\0') {
      out += replacement_char;
    } else {
      out += c;
    }
  }
}

void append_imap_nstring(std::string& out, std::string_view s) {
  if (s.empty()) {
    out += "NIL";
  } else {
    append_imap_string(out, s);
  }
}

// RFC 5322 §3.4 address-list, with the §4.4 obsolete forms: empty list elements,
// routes, CFWS around dots. Anything else malformed is read as well as it goes.
namespace {

// Walks an address list (RFC 5322 §3.4), telling `w` of each mailbox and group.
template <class Writer>
void walk_address_list(std::string_view header_value, Writer& w) {
  const tokens t = tokenize(header_value);
  bool in_group = false;
  size_t i = 0;
  while (i < t.size()) {
    if (t[i].is(',')) {
      ++i;
      continue;
    }
    if (t[i].is(';')) {
      if (in_group) w.group_end();
      in_group = false;
      ++i;
      continue;
    }
    // The extent of this address: up to a top-level "," or ";" ("<...>" may hold
    // the commas of a route). A ":" before any "<" or "@" starts a group.
    size_t j = i;
    size_t lt = std::string_view::npos;
    size_t at = std::string_view::npos;
    bool angle = false;
    bool group = false;
    for (; j < t.size(); ++j) {
      if (angle) {
        angle = !t[j].is('>');
        continue;
      }
      if (t[j].is('<')) {
        angle = true;
        if (lt == std::string_view::npos) lt = j;
      } else if (t[j].is(',') || t[j].is(';')) {
        break;
      } else if (t[j].is(':') && !in_group && lt == std::string_view::npos &&
                 at == std::string_view::npos) {
        group = true;
        break;
      } else if (t[j].is('@') && at == std::string_view::npos) {
        at = j;
      }
    }
    if (group) {
      w.group_start(phrase(t, i, j));
      in_group = true;
      i = j + 1;
      continue;
    }
    parse_mailbox(t, i, j, lt == std::string_view::npos ? j : lt, w);
    i = j;
  }
  // A group left open at the end of the field is closed: the client sees the
  // markers paired.
  if (in_group) w.group_end();
  w.finish();
}

}  // namespace

void append_imap_address_list(std::string& out, std::string_view header_value) {
  address_writer w(out);
  walk_address_list(header_value, w);
}

std::optional<mailbox_address> first_mailbox(std::string_view header_value) {
  first_mailbox_finder f;
  walk_address_list(header_value, f);
  if (!f.found) return std::nullopt;
  return mailbox_address{f.found->name, f.found->mailbox, f.found->host};
}

std::string imap_envelope(const envelope_fields& f) {
  std::string out;
  out.reserve(128 + f.subject.size() + f.from.size() + f.to.size() + f.cc.size());
  out += '(';
  append_imap_nstring(out, f.date);
  out += ' ';
  append_imap_nstring(out, f.subject);
  out += ' ';
  std::string from;
  append_imap_address_list(from, f.from);
  out += from;
  // RFC 9051 §7.5.2: the server sets sender and reply-to to from when they are
  // absent or empty.
  for (std::string_view v : {f.sender, f.reply_to}) {
    out += ' ';
    std::string list;
    append_imap_address_list(list, v);
    out += list == "NIL" ? from : list;
  }
  for (std::string_view v : {f.to, f.cc, f.bcc}) {
    out += ' ';
    append_imap_address_list(out, v);
  }
  out += ' ';
  append_imap_nstring(out, f.in_reply_to);
  out += ' ';
  append_imap_nstring(out, f.message_id);
  out += ')';
  return out;
}

std::string imap_envelope(const message_structure& s) {
  return imap_envelope(envelope_fields{s.date, s.subject, s.from, s.sender, s.reply_to, s.to, s.cc,
                                       s.bcc, s.in_reply_to, s.message_id});
}

}  // namespace postern::mime
