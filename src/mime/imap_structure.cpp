// BODY and BODYSTRUCTURE (imap_structure.hpp) from the flat, depth-first part
// list of a message_structure. The tree is recovered from the section numbers
// (message_structure.hpp): a multipart "<s>"'s children are "<s>.1", "<s>.2", ...;
// a message part "<s>" is followed by its inner message, "<s>.1" when single-part
// or a multipart sharing "<s>".
#include "mime/imap_structure.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace postern::mime {
namespace {

// Deeper than parse() ever nests (100 levels, each at most a message and its
// multipart); only a corrupt index row gets here, and then the stack stays small.
constexpr size_t max_depth = 256;

constexpr std::string_view nil_envelope = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)";

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

bool is_ascii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// RFC 2231 §4 extended value, UTF-8: attribute-chars stay, the rest is %XX.
std::string rfc2231_encode(std::string_view value) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out = "utf-8''";
  for (char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    const bool plain = c > 0x20 && c < 0x7f &&
                       std::string_view("*'%()<>@,;:\\\"/[]?=").find(ch) == std::string_view::npos;
    if (plain) {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xf];
    }
  }
  return out;
}

// RFC 9051 §9 body-fld-param. `default_charset`: add CHARSET US-ASCII when no
// charset is given (text parts).
void append_params(std::string& out, const part::params& params, bool default_charset) {
  if (params.empty() && !default_charset) {
    out += "NIL";
    return;
  }
  out += '(';
  bool first = true;
  bool charset = false;
  for (const auto& [name, value] : params) {
    if (!first) out += ' ';
    first = false;
    charset = charset || name == "charset";
    // RFC 9051 §7.5.2: a decoded value that is not US-ASCII goes back to its
    // RFC 2231 form for a client that has not enabled UTF8=ACCEPT.
    if (is_ascii(value)) {
      append_imap_string(out, upper(name));
      out += ' ';
      append_imap_string(out, value);
    } else {
      append_imap_string(out, upper(name) + "*");
      out += ' ';
      append_imap_string(out, rfc2231_encode(value));
    }
  }
  if (default_charset && !charset) {
    if (!first) out += ' ';
    out += "\"CHARSET\" \"US-ASCII\"";
  }
  out += ')';
}

// The Content-Type parameters, or for a version-1 row what it kept of them.
part::params type_params(const part& p) {
  if (!p.type_params.empty()) return p.type_params;
  part::params out;
  if (!p.charset.empty()) out.emplace_back("charset", p.charset);
  if (!p.boundary.empty()) out.emplace_back("boundary", p.boundary);
  return out;
}

// RFC 9051 §9 body-fld-dsp.
void append_disposition(std::string& out, const part& p) {
  if (p.disposition.empty()) {
    out += "NIL";
    return;
  }
  out += '(';
  append_imap_string(out, upper(p.disposition));
  out += ' ';
  append_params(out, p.disposition_params, false);
  out += ')';
}

// RFC 9051 §9 body-fld-lang from Content-Language (RFC 3282: a comma-separated
// list of tags, with CFWS): NIL, one string, or a list.
void append_language(std::string& out, std::string_view value) {
  std::vector<std::string_view> tags;
  size_t i = 0;
  while (i < value.size()) {
    const char c = value[i];
    if (c == '(') {
      size_t depth = 0;
      for (; i < value.size(); ++i) {
        if (value[i] == '\\') {
          ++i;
        } else if (value[i] == '(') {
          ++depth;
        } else if (value[i] == ')' && --depth == 0) {
          ++i;
          break;
        }
      }
    } else if (c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ++i;
    } else {
      const size_t begin = i;
      while (i < value.size() &&
             std::string_view(", \t\r\n(").find(value[i]) == std::string_view::npos)
        ++i;
      tags.push_back(value.substr(begin, i - begin));
    }
  }
  if (tags.empty()) {
    out += "NIL";
  } else if (tags.size() == 1) {
    append_imap_string(out, tags[0]);
  } else {
    out += '(';
    for (size_t k = 0; k < tags.size(); ++k) {
      if (k > 0) out += ' ';
      append_imap_string(out, tags[k]);
    }
    out += ')';
  }
}

// body-fld-dsp SP body-fld-lang SP body-fld-loc, shared by both extension forms.
void append_dsp_lang_loc(std::string& out, const part& p) {
  out += ' ';
  append_disposition(out, p);
  out += ' ';
  append_language(out, p.language);
  out += ' ';
  append_imap_nstring(out, p.location);
}

bool is_direct_child(std::string_view child, std::string_view parent) {
  if (!parent.empty()) {
    if (child.size() <= parent.size() + 1 || !child.starts_with(parent) ||
        child[parent.size()] != '.') {
      return false;
    }
    child.remove_prefix(parent.size() + 1);
  }
  if (child.empty()) return false;
  for (char c : child) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool is_multipart(const part& p) { return p.content_type.starts_with("multipart/"); }
bool is_message(const part& p) {
  return p.content_type == "message/rfc822" || p.content_type == "message/global";
}

std::string child_section(const std::string& parent) {
  return parent.empty() ? std::string("1") : parent + ".1";
}

class body_writer {
 public:
  body_writer(const std::vector<part>& parts, bool extended, std::string& out)
      : parts_(parts), extended_(extended), out_(out) {}

  // Writes parts_[i] and everything inside it; returns the index after them.
  size_t write(size_t i, size_t depth) {
    const part& p = parts_[i];
    if (depth >= max_depth) {
      empty_body();
      return skip_inside(i);
    }
    if (is_multipart(p)) return multipart(i, depth);
    out_ += '(';
    const auto slash = p.content_type.find('/');
    const std::string_view type = std::string_view(p.content_type).substr(0, slash);
    const std::string_view subtype = slash == std::string::npos
                                         ? std::string_view()
                                         : std::string_view(p.content_type).substr(slash + 1);
    append_imap_string(out_, upper(type));
    out_ += ' ';
    append_imap_string(out_, upper(subtype));
    out_ += ' ';
    body_fields(p, type == "text");
    size_t next = i + 1;
    if (type == "text") {
      out_ += ' ';
      out_ += std::to_string(p.body_lines);
    } else if (is_message(p)) {
      // body-type-msg: envelope SP body SP body-fld-lines.
      out_ += ' ';
      out_ += p.envelope.empty() ? nil_envelope : std::string_view(p.envelope);
      out_ += ' ';
      if (next < parts_.size() &&
          (parts_[next].section == child_section(p.section) ||
           (parts_[next].section == p.section && is_multipart(parts_[next])))) {
        next = write(next, depth + 1);
      } else {
        empty_body();
      }
      out_ += ' ';
      out_ += std::to_string(p.body_lines);
    }
    if (extended_) {
      // body-ext-1part: body-fld-md5 SP body-fld-dsp SP body-fld-lang SP body-fld-loc.
      out_ += ' ';
      append_imap_nstring(out_, p.md5);
      append_dsp_lang_loc(out_, p);
    }
    out_ += ')';
    return next;
  }

 private:
  size_t multipart(size_t i, size_t depth) {
    const part& p = parts_[i];
    out_ += '(';
    size_t next = i + 1;
    bool any = false;
    while (next < parts_.size() && is_direct_child(parts_[next].section, p.section)) {
      next = write(next, depth + 1);
      any = true;
    }
    if (!any) empty_body();  // RFC 9051 §9 body-type-mpart: 1*body
    out_ += ' ';
    append_imap_string(out_, upper(std::string_view(p.content_type).substr(10)));
    if (extended_) {
      // body-ext-mpart: body-fld-param SP body-fld-dsp SP body-fld-lang SP body-fld-loc.
      out_ += ' ';
      append_params(out_, type_params(p), false);
      append_dsp_lang_loc(out_, p);
    }
    out_ += ')';
    return next;
  }

  // body-fields: body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP
  // body-fld-octets.
  void body_fields(const part& p, bool text) {
    append_params(out_, type_params(p), text);
    out_ += ' ';
    append_imap_nstring(out_, p.content_id);
    out_ += ' ';
    append_imap_nstring(out_, p.description);
    out_ += ' ';
    append_imap_string(out_, upper(p.transfer_encoding.empty() ? "7bit" : p.transfer_encoding));
    out_ += ' ';
    out_ += std::to_string(p.body_size);
  }

  void empty_body() {
    out_ += "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0";
    out_ += extended_ ? " NIL NIL NIL NIL)" : ")";
  }

  // The index after parts_[i] and every part numbered inside it.
  size_t skip_inside(size_t i) const {
    const std::string& s = parts_[i].section;
    size_t next = i + 1;
    while (next < parts_.size()) {
      const std::string& n = parts_[next].section;
      const bool inside =
          s.empty() || n == s || (n.starts_with(s) && n.size() > s.size() && n[s.size()] == '.');
      if (!inside) break;
      ++next;
    }
    return next;
  }

  const std::vector<part>& parts_;
  bool extended_;
  std::string& out_;
};

}  // namespace

std::string imap_bodystructure(const message_structure& s, bool extended) {
  std::string out;
  body_writer w(s.parts, extended, out);
  if (s.parts.empty()) {
    // Not something parse() returns; a message is at least its header.
    out =
        extended
            ? "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0 NIL NIL NIL NIL)"
            : "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0)";
    return out;
  }
  w.write(0, 0);
  return out;
}

}  // namespace postern::mime
