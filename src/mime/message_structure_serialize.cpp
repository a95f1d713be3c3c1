// serialize()/deserialize(): the text form of a message_structure kept in the
// index (message_structure.hpp).
//
// Format, version 2; every line ends with LF and fields are separated by TAB:
//
//   postern-mime 2 <TAB> header_size <TAB> body_lines <TAB> part count
//   <field> <TAB> value            one per non-empty top-level field, in the order
//                                  subject from sender reply-to to cc bcc date
//                                  message-id in-reply-to
//   part <TAB> section <TAB> content_type <TAB> charset <TAB> boundary <TAB> name
//        <TAB> disposition <TAB> transfer_encoding <TAB> content_id <TAB> description
//        <TAB> header_offset <TAB> body_offset <TAB> body_size <TAB> body_lines
//        <TAB> language <TAB> location <TAB> md5
//                                  one per part, in order, each followed by:
//   type <TAB> name <TAB> value    one per Content-Type parameter, in order
//   disp <TAB> name <TAB> value    one per Content-Disposition parameter, in order
//   envelope <TAB> value           when the part has an envelope
//   end                            the last line
//
// Version 1, still read (the index holds rows written by it), is the same without
// language, location and md5 in the part lines, without the type, disp, envelope
// and end lines, and with "postern-mime 1" first.
//
// Numbers are plain decimal. In values, every byte below 0x20, 0x7f and '%'
// itself is written as '%' and two upper-case hex digits, so a value never holds
// TAB, CR, LF or NUL and the form is one text line per field or part; other bytes
// (UTF-8 or not) are written as they are. The part count in the first line and
// the end line make a truncated row fail to load instead of losing parts silently.
#include <array>
#include <charconv>
#include <limits>

#include "mime/message_structure.hpp"

namespace postern::mime {
namespace {

constexpr std::string_view magic_v1 = "postern-mime 1";
constexpr std::string_view magic = "postern-mime 2";
constexpr std::string_view part_tag = "part";
constexpr std::string_view type_param_tag = "type";
constexpr std::string_view disposition_param_tag = "disp";
constexpr std::string_view envelope_tag = "envelope";
constexpr std::string_view end_line = "end";
constexpr size_t part_field_count_v1 = 14;  // tag + 13 members
constexpr size_t part_field_count = 17;     // tag + 16 members
constexpr char hex_digits[] = "0123456789ABCDEF";

using field_member = std::string message_structure::*;
struct named_field {
  std::string_view name;
  field_member member;
};
constexpr std::array<named_field, 10> message_fields = {{
    {"subject", &message_structure::subject},
    {"from", &message_structure::from},
    {"sender", &message_structure::sender},
    {"reply-to", &message_structure::reply_to},
    {"to", &message_structure::to},
    {"cc", &message_structure::cc},
    {"bcc", &message_structure::bcc},
    {"date", &message_structure::date},
    {"message-id", &message_structure::message_id},
    {"in-reply-to", &message_structure::in_reply_to},
}};

bool must_escape(unsigned char c) { return c < 0x20 || c == 0x7f || c == '%'; }

void append_escaped(std::string& out, std::string_view value) {
  for (char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (must_escape(c)) {
      out += '%';
      out += hex_digits[c >> 4];
      out += hex_digits[c & 0xf];
    } else {
      out += ch;
    }
  }
}

void append_number(std::string& out, uint64_t n) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, r.ptr);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool unescape(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c < 0x20 || c == 0x7f) return false;  // always escaped when written
    if (c != '%') {
      out += in[i];
      continue;
    }
    if (in.size() - i < 3) return false;
    const int hi = hex_value(in[i + 1]);
    const int lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi << 4 | lo);
    i += 2;
  }
  return true;
}

template <typename T>
bool parse_number(std::string_view in, T& out) {
  if (in.empty()) return false;
  uint64_t n = 0;
  const auto r = std::from_chars(in.data(), in.data() + in.size(), n);
  if (r.ec != std::errc() || r.ptr != in.data() + in.size()) return false;
  if (n > std::numeric_limits<T>::max()) return false;
  out = static_cast<T>(n);
  return true;
}

// Splits `line` at TABs into exactly `count` fields.
template <size_t N>
bool split_fields(std::string_view line, std::array<std::string_view, N>& fields, size_t count) {
  size_t n = 0;
  for (;;) {
    const size_t tab = line.find('\t');
    if (n == count) return false;
    fields[n++] = line.substr(0, tab);
    if (tab == std::string_view::npos) break;
    line.remove_prefix(tab + 1);
  }
  return n == count;
}

// Takes the next LF-terminated line off `text`.
bool next_line(std::string_view& text, std::string_view& line) {
  const size_t lf = text.find('\n');
  if (lf == std::string_view::npos) return false;
  line = text.substr(0, lf);
  text.remove_prefix(lf + 1);
  return true;
}

bool parse_part(std::string_view line, part& p, bool v1) {
  std::array<std::string_view, part_field_count> f;
  const size_t count = v1 ? part_field_count_v1 : part_field_count;
  if (!split_fields(line, f, count) || f[0] != part_tag) return false;
  if (!v1 &&
      !(unescape(f[14], p.language) && unescape(f[15], p.location) && unescape(f[16], p.md5))) {
    return false;
  }
  return unescape(f[1], p.section) && unescape(f[2], p.content_type) && unescape(f[3], p.charset) &&
         unescape(f[4], p.boundary) && unescape(f[5], p.name) && unescape(f[6], p.disposition) &&
         unescape(f[7], p.transfer_encoding) && unescape(f[8], p.content_id) &&
         unescape(f[9], p.description) && parse_number(f[10], p.header_offset) &&
         parse_number(f[11], p.body_offset) && parse_number(f[12], p.body_size) &&
         parse_number(f[13], p.body_lines);
}

bool has_tag(std::string_view line, std::string_view tag) {
  return line.size() > tag.size() && line.starts_with(tag) && line[tag.size()] == '\t';
}

// A "type" or "disp" line: tag, name, value.
bool parse_param(std::string_view line, part::params& out) {
  std::array<std::string_view, 3> f;
  if (!split_fields(line, f, 3)) return false;
  auto& [name, value] = out.emplace_back();
  return unescape(f[1], name) && unescape(f[2], value);
}

void append_param_lines(std::string& out, std::string_view tag, const part::params& params) {
  for (const auto& [name, value] : params) {
    out += tag;
    out += '\t';
    append_escaped(out, name);
    out += '\t';
    append_escaped(out, value);
    out += '\n';
  }
}

// The lines that may follow a part line, in the order they must come.
enum class after_part { type_params, disposition_params, envelope, none };

}  // namespace

std::string serialize(const message_structure& s) {
  std::string out;
  out.reserve(64 + s.parts.size() * 96);
  out += magic;
  out += '\t';
  append_number(out, s.header_size);
  out += '\t';
  append_number(out, s.body_lines);
  out += '\t';
  append_number(out, s.parts.size());
  out += '\n';
  for (const named_field& f : message_fields) {
    const std::string& value = s.*f.member;
    if (value.empty()) continue;
    out += f.name;
    out += '\t';
    append_escaped(out, value);
    out += '\n';
  }
  for (const part& p : s.parts) {
    out += part_tag;
    for (const std::string* v :
         {&p.section, &p.content_type, &p.charset, &p.boundary, &p.name, &p.disposition,
          &p.transfer_encoding, &p.content_id, &p.description}) {
      out += '\t';
      append_escaped(out, *v);
    }
    for (uint64_t n : {p.header_offset, p.body_offset, p.body_size, uint64_t{p.body_lines}}) {
      out += '\t';
      append_number(out, n);
    }
    for (const std::string* v : {&p.language, &p.location, &p.md5}) {
      out += '\t';
      append_escaped(out, *v);
    }
    out += '\n';
    append_param_lines(out, type_param_tag, p.type_params);
    append_param_lines(out, disposition_param_tag, p.disposition_params);
    if (!p.envelope.empty()) {
      out += envelope_tag;
      out += '\t';
      append_escaped(out, p.envelope);
      out += '\n';
    }
  }
  out += end_line;
  out += '\n';
  return out;
}

bool deserialize(std::string_view text, message_structure& out) {
  message_structure s;
  std::string_view line;
  std::array<std::string_view, 4> head;
  uint64_t part_count = 0;
  if (!next_line(text, line) || !split_fields(line, head, 4) ||
      (head[0] != magic && head[0] != magic_v1) || !parse_number(head[1], s.header_size) ||
      !parse_number(head[2], s.body_lines) || !parse_number(head[3], part_count)) {
    return false;
  }
  const bool v1 = head[0] == magic_v1;
  s.legacy_format = v1;
  // Fields come once each, in serialize()'s order, never empty.
  size_t next_field = 0;
  after_part state = after_part::none;
  bool ended = false;
  while (next_line(text, line)) {
    if (ended) return false;  // a line after the end line
    if (has_tag(line, part_tag)) {
      if (s.parts.size() == part_count || !parse_part(line, s.parts.emplace_back(), v1)) {
        return false;
      }
      state = after_part::type_params;
      continue;
    }
    if (!v1 && line == end_line) {
      ended = true;
      continue;
    }
    if (!v1 && !s.parts.empty()) {
      part& p = s.parts.back();
      if (has_tag(line, type_param_tag) && state == after_part::type_params) {
        if (!parse_param(line, p.type_params)) return false;
        continue;
      }
      if (has_tag(line, disposition_param_tag) && state <= after_part::disposition_params) {
        state = after_part::disposition_params;
        if (!parse_param(line, p.disposition_params)) return false;
        continue;
      }
      if (has_tag(line, envelope_tag) && state <= after_part::envelope) {
        state = after_part::none;
        if (!unescape(line.substr(envelope_tag.size() + 1), p.envelope) || p.envelope.empty()) {
          return false;
        }
        continue;
      }
      return false;
    }
    if (!s.parts.empty()) return false;  // a field after the parts
    const size_t tab = line.find('\t');
    if (tab == std::string_view::npos || tab + 1 == line.size()) return false;
    const std::string_view name = line.substr(0, tab);
    while (next_field < message_fields.size() && message_fields[next_field].name != name) {
      ++next_field;
    }
    if (next_field == message_fields.size()) return false;
    if (!unescape(line.substr(tab + 1), s.*message_fields[next_field].member)) return false;
    ++next_field;
  }
  if (!text.empty() || s.parts.size() != part_count || (!v1 && !ended)) return false;
  out = std::move(s);
  return true;
}

}  // namespace postern::mime
