// parse(): one pass over the stored bytes that finds every MIME entity and its
// exact offsets (message_structure.hpp).
//
// Why the tree walk is ours and not g_mime_parser_construct_message():
// - GMime returns no message at all when the first line is not a header field
//   (binary garbage, a stray "From " line with CR); the index needs a best effort.
// - It records no offsets for multipart bodies, for parts without header fields,
//   nor for the end of a header that has no blank line (headers_end == -1).
// - It copies every header and builds a GObject per header and part; here no byte
//   of the message is copied except the field values we keep.
// GMime still parses what is hard to get right in field values: Content-Type and
// Content-Disposition parameters (RFC 2045 §5.1, RFC 2183, RFC 2231 continuations
// and charsets, quoted strings, encoded-words in names).
//
// The walk is iterative (an explicit stack of open multiparts and encapsulated
// messages), so nesting costs heap, not stack; it stops descending at max_depth.
#include "mime/message_structure.hpp"

#include <gmime/gmime.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <utility>

#include "mime/imap_structure.hpp"

namespace postern::mime {
namespace {

constexpr size_t npos = std::string_view::npos;

// Deepest entity that is still taken apart; parts[0] is depth 0. RFC 2046 sets no
// limit; 100 is Dovecot's mail_max_nested_mime_parts default.
constexpr size_t max_depth = 100;
// Past this many entities the rest of the message is left to the parts already
// open (Dovecot's mail_max_total_mime_parts default), so a message of tiny parts
// cannot make the index row grow without bound.
constexpr size_t max_parts = 10000;

void init_gmime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ascii_lower(x) == ascii_lower(y);
         });
}

std::string_view trim_wsp(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}

// RFC 5322 §2.2.3: unfolding removes every line break that is followed by WSP.
// Inside one field every line break is such a fold, so all of them go.
std::string unfold(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '\n') continue;
    if (c == '\r' && i + 1 < raw.size() && raw[i + 1] == '\n') continue;
    out.push_back(c);
  }
  const std::string_view trimmed = trim_wsp(out);
  return std::string(trimmed);
}

// RFC 2045 §5.1 token: US-ASCII printable except SPACE and tspecials.
bool is_token_char(char c) {
  if (c <= ' ' || c >= 0x7f) return false;
  return std::strchr("()<>@,;:\\\"/[]?=", c) == nullptr;
}

// Skips RFC 5322 §3.2.2 CFWS: white space and (possibly nested) comments.
void skip_cfws(std::string_view s, size_t& i) {
  while (i < s.size()) {
    if (is_wsp(s[i]) || s[i] == '\r' || s[i] == '\n') {
      ++i;
    } else if (s[i] == '(') {
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
    } else {
      break;
    }
  }
}

std::string_view read_token(std::string_view s, size_t& i) {
  skip_cfws(s, i);
  const size_t begin = i;
  while (i < s.size() && is_token_char(s[i])) ++i;
  return s.substr(begin, i - begin);
}

// Header fields the index keeps. The Content-* ones are read for every entity,
// the others only for the top-level header (RFC 2045 §9: other fields of a body
// part have no defined meaning).
enum field_id : uint8_t {
  f_content_type,
  f_content_transfer_encoding,
  f_content_disposition,
  f_content_id,
  f_content_description,
  f_content_language,
  f_content_location,
  f_content_md5,
  f_subject,
  f_from,
  f_sender,
  f_reply_to,
  f_to,
  f_cc,
  f_bcc,
  f_date,
  f_message_id,
  f_in_reply_to,
  field_count
};
constexpr size_t mime_field_count = f_subject;
constexpr std::array<std::string_view, field_count> field_names = {"content-type",
                                                                   "content-transfer-encoding",
                                                                   "content-disposition",
                                                                   "content-id",
                                                                   "content-description",
                                                                   "content-language",
                                                                   "content-location",
                                                                   "content-md5",
                                                                   "subject",
                                                                   "from",
                                                                   "sender",
                                                                   "reply-to",
                                                                   "to",
                                                                   "cc",
                                                                   "bcc",
                                                                   "date",
                                                                   "message-id",
                                                                   "in-reply-to"};

// Where a kept field's value lies in the message: after the colon up to the end
// of its last continuation line. Only the first occurrence of a field counts.
struct field_range {
  size_t begin = npos;
  size_t end = 0;
};
using field_ranges = std::array<field_range, field_count>;

// Every parameter GMime found, in header order: it has joined RFC 2231
// continuations and converted charsets to UTF-8; names are made lower-case
// (RFC 2045 §5.1: case-insensitive).
void copy_params(GMimeParamList* list, part::params& out) {
  if (list == nullptr) return;
  const int n = g_mime_param_list_length(list);
  for (int i = 0; i < n; ++i) {
    GMimeParam* param = g_mime_param_list_get_parameter_at(list, i);
    if (param == nullptr) continue;
    const char* name = g_mime_param_get_name(param);
    const char* v = g_mime_param_get_value(param);
    out.emplace_back(lower(name ? name : ""), v ? v : "");
  }
}

// Content-Type (RFC 2045 §5): type and subtype are ours to check, because GMime
// turns a malformed value into application/octet-stream where RFC 2045 §5.2 says
// to assume the default; the parameters are GMime's.
void apply_content_type(const std::string& value, part& p) {
  size_t i = 0;
  const std::string_view type = read_token(value, i);
  skip_cfws(value, i);
  std::string_view subtype;
  if (i < value.size() && value[i] == '/') subtype = read_token(value, ++i);
  if (type.empty() || subtype.empty()) return;  // keep the default
  p.content_type = lower(type);
  p.content_type += '/';
  p.content_type += lower(subtype);
  if (value.find(';', i) == std::string::npos) return;
  GMimeContentType* ct = g_mime_content_type_parse(nullptr, value.c_str());
  if (ct == nullptr) return;
  if (const char* v = g_mime_content_type_get_parameter(ct, "charset")) p.charset = v;
  if (const char* v = g_mime_content_type_get_parameter(ct, "boundary")) p.boundary = v;
  if (const char* v = g_mime_content_type_get_parameter(ct, "name")) p.name = v;
  copy_params(g_mime_content_type_get_parameters(ct), p.type_params);
  g_object_unref(ct);
}

// Content-Disposition (RFC 2183 §2): the type is a token; the filename, when
// present, wins over the Content-Type name (RFC 2183 §2.3), as in GMime.
void apply_disposition(const std::string& value, part& p) {
  size_t i = 0;
  p.disposition = lower(read_token(value, i));
  if (value.find(';', i) == std::string::npos) return;
  GMimeContentDisposition* d = g_mime_content_disposition_parse(nullptr, value.c_str());
  if (d == nullptr) return;
  if (const char* v = g_mime_content_disposition_get_parameter(d, "filename"); v && *v) {
    p.name = v;
  }
  copy_params(g_mime_content_disposition_get_parameters(d), p.disposition_params);
  g_object_unref(d);
}

// One line: [begin, end) without its line break, next is the following line.
struct line {
  size_t begin;
  size_t end;
  size_t next;
  bool has_lf;
};

enum class delimiter_kind { none, open, close };

// RFC 2046 §5.1.1: "--" boundary, or "--" boundary "--" for the close-delimiter,
// optionally followed by transport padding (linear white space).
delimiter_kind match_delimiter(std::string_view text, std::string_view delimiter) {
  if (text.size() < delimiter.size() || text.compare(0, delimiter.size(), delimiter) != 0) {
    return delimiter_kind::none;
  }
  std::string_view rest = text.substr(delimiter.size());
  const bool close = rest.size() >= 2 && rest[0] == '-' && rest[1] == '-';
  if (close) rest.remove_prefix(2);
  for (char c : rest) {
    if (!is_wsp(c)) return delimiter_kind::none;
  }
  return close ? delimiter_kind::close : delimiter_kind::open;
}

// A delimiter line found while scanning, or the end of the message.
struct hit {
  size_t content_end = 0;  // where the content before the delimiter ends
  size_t line_end = 0;     // end of the delimiter line's text (before its line break)
  size_t next = 0;         // first byte after the delimiter line
  size_t level = npos;     // stack index of the multipart it belongs to; npos: end of input
  bool close = false;      // a close-delimiter
  bool has_lf = false;     // the delimiter line ends with a line break
};

// Progress reports come every this many bytes of a forward scan.
constexpr size_t progress_step = 1 << 20;

class walker {
 public:
  walker(std::string_view msg, message_structure& out, const progress_fn& progress)
      : msg_(msg), out_(out), progress_(progress) {}

  void run() {
    start next{0, 0, std::string(), false, false};
    for (;;) {
      hit h;
      if (out_.parts.size() >= max_parts) {
        h = end_hit();  // what is left belongs to the entities still open
      } else if (!open_entity(next, h)) {
        continue;  // an encapsulated message: `next` is now its inner entity
      }
      if (!next_child(h, next)) break;
    }
  }

 private:
  // Where the next entity starts and how it is numbered.
  struct start {
    size_t offset;
    size_t depth;
    std::string section;  // its own section, or its container's when encapsulated
    bool encapsulated;    // the message inside a message/rfc822 entity
    bool digest_child;    // RFC 2046 §5.1.5: defaults to message/rfc822
  };
  // An entity whose body is still being scanned.
  struct frame {
    size_t part;
    std::string delimiter;  // "--" boundary; empty for a message or after the close-delimiter
    size_t depth;
    uint32_t children;
    bool digest;
  };
  enum class kind { leaf, multipart, message };

  line line_at(size_t pos) const {
    const char* data = msg_.data();
    const void* lf = std::memchr(data + pos, '\n', msg_.size() - pos);
    if (lf == nullptr) return {pos, msg_.size(), msg_.size(), false};
    const size_t eol = static_cast<size_t>(static_cast<const char*>(lf) - data);
    const size_t end = eol > pos && data[eol - 1] == '\r' ? eol - 1 : eol;
    return {pos, end, eol + 1, true};
  }

  hit end_hit() const {
    hit h;
    h.content_end = h.line_end = h.next = msg_.size();
    return h;
  }

  // RFC 2046 §5.1.1: the line break before a delimiter belongs to the delimiter,
  // unless it lies before `floor` (the start of the content being scanned).
  size_t content_end(size_t line_begin, size_t floor) const {
    size_t end = line_begin;
    if (end > floor && msg_[end - 1] == '\n') --end;
    if (end > floor && msg_[end - 1] == '\r') --end;
    return end;
  }

  // Is `l` a delimiter of an open multipart? The innermost is tried first; an
  // outer one also ends every entity inside it (a broken inner multipart cannot
  // swallow the rest of its parent), as GMime and Dovecot do.
  std::optional<hit> match_line(const line& l, size_t floor) const {
    std::string_view text = msg_.substr(l.begin, l.end - l.begin);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    for (size_t i = stack_.size(); i-- > 0;) {
      if (stack_[i].delimiter.empty()) continue;
      const delimiter_kind k = match_delimiter(text, stack_[i].delimiter);
      if (k == delimiter_kind::none) continue;
      hit h;
      h.content_end = content_end(l.begin, floor);
      h.line_end = l.end;
      h.next = l.next;
      h.level = i;
      h.close = k == delimiter_kind::close;
      h.has_lf = l.has_lf;
      return h;
    }
    return std::nullopt;
  }

  // First delimiter line at or after `pos` (a line start), or the end of input.
  hit find_delimiter(size_t pos, size_t floor) const {
    if (active_ == 0) return end_hit();
    const char* data = msg_.data();
    const size_t size = msg_.size();
    while (pos < size) {
      if (progress_ && pos >= next_report_) {
        progress_(pos);
        next_report_ = pos + progress_step;
      }
      if (size - pos >= 2 && data[pos] == '-' && data[pos + 1] == '-') {
        const line l = line_at(pos);
        if (auto h = match_line(l, floor)) return *h;
        pos = l.next;
        continue;
      }
      const void* lf = std::memchr(data + pos, '\n', size - pos);
      if (lf == nullptr) break;
      pos = static_cast<size_t>(static_cast<const char*>(lf) - data) + 1;
    }
    return end_hit();
  }

  // Reads the header that starts at `pos` up to its blank line (included), the
  // end of input, or — inside a multipart — a delimiter line, which ends the
  // entity there (a part cut short must not swallow its siblings).
  struct header_end {
    size_t body_offset;
    std::optional<hit> delimiter;
  };
  header_end read_header(size_t pos, bool top, field_ranges& fields) const {
    const size_t header_begin = pos;
    const size_t wanted = top ? size_t{field_count} : mime_field_count;
    int current = -1;  // the kept field that continuation lines extend
    while (pos < msg_.size()) {
      const line l = line_at(pos);
      if (l.end == l.begin) return {l.next, std::nullopt};  // RFC 5322 §2.1: the blank line
      if (active_ != 0 && msg_[pos] == '-' && l.end - l.begin >= 2 && msg_[pos + 1] == '-') {
        if (auto h = match_line(l, header_begin)) return {h->content_end, h};
      }
      if (is_wsp(msg_[pos])) {
        if (current >= 0) fields[current].end = l.end;  // RFC 5322 §2.2.3 folding
      } else {
        current = -1;
        const void* colon = std::memchr(msg_.data() + pos, ':', l.end - pos);
        if (colon != nullptr) {
          const size_t colon_at =
              static_cast<size_t>(static_cast<const char*>(colon) - msg_.data());
          // RFC 5322 §4.5.3 (obs-optional) allows WSP before the colon.
          std::string_view name = msg_.substr(pos, colon_at - pos);
          while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
          for (size_t id = 0; id < wanted; ++id) {
            if (fields[id].begin == npos && iequals(name, field_names[id])) {
              fields[id] = {colon_at + 1, l.end};
              current = static_cast<int>(id);
              break;
            }
          }
        }
        // A line with no colon is not a field (RFC 5322 §2.2); it is skipped.
      }
      pos = l.next;
    }
    return {msg_.size(), std::nullopt};  // no blank line: all of it is header
  }

  std::string value(const field_ranges& fields, field_id id) const {
    const field_range& r = fields[id];
    if (r.begin == npos) return std::string();
    return unfold(msg_.substr(r.begin, r.end - r.begin));
  }

  void apply_fields(const field_ranges& fields, bool digest_child, part& p) const {
    // RFC 2045 §5.2 and RFC 2046 §5.1.5: the defaults when Content-Type is absent
    // or malformed.
    p.content_type = digest_child ? "message/rfc822" : "text/plain";
    if (fields[f_content_type].begin != npos) {
      apply_content_type(value(fields, f_content_type), p);
    }
    if (fields[f_content_disposition].begin != npos) {
      apply_disposition(value(fields, f_content_disposition), p);
    }
    // RFC 2045 §6.1: "7bit" when absent; the mechanism is a case-insensitive token.
    const std::string cte = value(fields, f_content_transfer_encoding);
    size_t i = 0;
    p.transfer_encoding = lower(read_token(cte, i));
    if (p.transfer_encoding.empty()) p.transfer_encoding = "7bit";
    p.content_id = value(fields, f_content_id);
    p.description = value(fields, f_content_description);
    p.language = value(fields, f_content_language);
    // RFC 2557 §4.4.2 folds a long URI by the RFC 2017 §3.1 rule: the white space
    // that folding put in is not part of it (a URI holds none, §4.4.1).
    p.location = value(fields, f_content_location);
    std::erase_if(p.location, is_wsp);
    p.md5 = value(fields, f_content_md5);
  }

  // The ENVELOPE of an encapsulated message, kept on its message/rfc822 part so
  // that BODYSTRUCTURE needs no second look at the message.
  std::string envelope(const field_ranges& fields) const {
    const std::string v[] = {value(fields, f_date),        value(fields, f_subject),
                             value(fields, f_from),        value(fields, f_sender),
                             value(fields, f_reply_to),    value(fields, f_to),
                             value(fields, f_cc),          value(fields, f_bcc),
                             value(fields, f_in_reply_to), value(fields, f_message_id)};
    return imap_envelope(
        envelope_fields{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9]});
  }

  void apply_message_fields(const field_ranges& fields) {
    out_.subject = value(fields, f_subject);
    out_.from = value(fields, f_from);
    out_.sender = value(fields, f_sender);
    out_.reply_to = value(fields, f_reply_to);
    out_.to = value(fields, f_to);
    out_.cc = value(fields, f_cc);
    out_.bcc = value(fields, f_bcc);
    out_.date = value(fields, f_date);
    out_.message_id = value(fields, f_message_id);
    out_.in_reply_to = value(fields, f_in_reply_to);
  }

  static kind classify(const part& p, size_t depth) {
    if (depth >= max_depth) return kind::leaf;
    if (p.content_type.starts_with("multipart/")) {
      // RFC 2046 §5.1.1: without a boundary there are no parts to find.
      return p.boundary.empty() ? kind::leaf : kind::multipart;
    }
    if (p.content_type == "message/rfc822" || p.content_type == "message/global") {
      // RFC 2046 §5.2.1: only an identity encoding leaves the inner message's
      // bytes (and so its offsets) in place; otherwise it is opaque content.
      const std::string& e = p.transfer_encoding;
      if (e == "7bit" || e == "8bit" || e == "binary") return kind::message;
    }
    return kind::leaf;
  }

  static std::string child_section(const std::string& parent, uint32_t n) {
    return parent.empty() ? std::to_string(n) : parent + "." + std::to_string(n);
  }

  // Adds the entity that starts at `s`. Returns true with `h` set to what ends
  // its content, or false when it is an encapsulated message, whose inner entity
  // is then stored in `s`.
  bool open_entity(start& s, hit& h) {
    const size_t index = out_.parts.size();
    out_.parts.emplace_back();
    field_ranges fields;
    // RFC 9051 §7.5.2: an encapsulated message's header gives its container's
    // envelope, so its RFC 5322 fields are read as for the message itself.
    const header_end he = read_header(s.offset, index == 0 || s.encapsulated, fields);
    part& p = out_.parts[index];
    p.header_offset = s.offset;
    apply_fields(fields, s.digest_child, p);
    if (index == 0) apply_message_fields(fields);
    if (s.encapsulated && !stack_.empty())
      out_.parts[stack_.back().part].envelope = envelope(fields);

    const kind k = he.delimiter ? kind::leaf : classify(p, s.depth);
    // RFC 9051 §6.4.5: the body of an encapsulated message is "<n>.1" unless it is
    // a multipart, whose children are "<n>.1", ... and which has no number of its
    // own; it shares its container's section.
    if (s.encapsulated && k != kind::multipart) {
      p.section = child_section(s.section, 1);
    } else {
      p.section = std::move(s.section);
    }
    p.body_offset = he.body_offset;
    if (he.delimiter) {
      h = *he.delimiter;
      return true;
    }
    switch (k) {
      case kind::leaf:
        h = find_delimiter(p.body_offset, p.body_offset);
        p.body_size = h.content_end - p.body_offset;
        return true;
      case kind::multipart:
        stack_.push_back(
            {index, "--" + p.boundary, s.depth, 0, p.content_type == "multipart/digest"});
        ++active_;
        h = find_delimiter(p.body_offset, p.body_offset);
        return true;
      case kind::message:
        stack_.push_back({index, std::string(), s.depth, 0, false});
        s = start{p.body_offset, s.depth + 1, p.section, true, false};
        return false;
    }
    return true;
  }

  void close_top(size_t end) {
    frame& f = stack_.back();
    part& p = out_.parts[f.part];
    p.body_size = end - p.body_offset;
    if (!f.delimiter.empty()) --active_;
    stack_.pop_back();
  }

  // Handles the delimiter (or end of input) that ended the last entity's
  // content: closes what it ends and returns the next part to open, if any.
  bool next_child(hit h, start& next) {
    for (;;) {
      const size_t keep = h.level == npos ? 0 : h.level + 1;
      while (stack_.size() > keep) close_top(h.content_end);
      if (h.level == npos) return false;
      frame& f = stack_.back();
      if (!h.close) {
        if (!h.has_lf) {
          // A delimiter on the last line with nothing after it opens no part.
          h = end_hit();
          continue;
        }
        ++f.children;
        next = start{h.next, f.depth + 1, child_section(out_.parts[f.part].section, f.children),
                     false, f.digest};
        return true;
      }
      // RFC 2046 §5.1.1: after the close-delimiter comes the epilogue, still part
      // of this multipart's body, up to a delimiter of an enclosing multipart.
      f.delimiter.clear();
      --active_;
      h = find_delimiter(h.next, h.line_end);
    }
  }

  std::string_view msg_;
  message_structure& out_;
  const progress_fn& progress_;
  mutable size_t next_report_ = progress_step;
  std::vector<frame> stack_;
  size_t active_ = 0;  // frames whose delimiter is still looked for
};

// LF bytes in [begin, end), eight at a time: std::count is not vectorised at -O2
// and this loop is most of the cost of parsing a large single-part message.
uint64_t count_lf(const char* begin, const char* end) {
  constexpr uint64_t ones = 0x0101010101010101ull;
  constexpr uint64_t low7 = 0x7f7f7f7f7f7f7f7full;
  uint64_t n = 0;
  for (; end - begin >= 8; begin += 8) {
    uint64_t w = 0;
    std::memcpy(&w, begin, 8);
    const uint64_t x = w ^ (ones * '\n');  // LF bytes become zero
    // Exact zero-byte test (no borrow between bytes): high bit set iff byte == 0.
    const uint64_t zero = ~(((x & low7) + low7) | x | low7);
    // Sum the eight flags into the top byte; a popcount would be a libgcc call
    // on a build without -mpopcnt.
    n += ((zero >> 7) * ones) >> 56;
  }
  for (; begin != end; ++begin) n += *begin == '\n';
  return n;
}

// Lines per body in one pass over the message: LFs are counted once between
// consecutive body edges, so nested bodies cost no rescans.
void count_body_lines(std::string_view msg, std::vector<part>& parts, const progress_fn& progress) {
  std::vector<uint64_t> edges;
  edges.reserve(parts.size() * 2);
  for (const part& p : parts) {
    edges.push_back(p.body_offset);
    edges.push_back(p.body_offset + p.body_size);
  }
  std::sort(edges.begin(), edges.end());
  edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
  std::vector<uint64_t> lf_before(edges.size());
  uint64_t pos = 0;
  uint64_t count = 0;
  for (size_t i = 0; i < edges.size(); ++i) {
    while (progress && edges[i] - pos > progress_step) {
      count += count_lf(msg.data() + pos, msg.data() + pos + progress_step);
      pos += progress_step;
      progress(pos);
    }
    count += count_lf(msg.data() + pos, msg.data() + edges[i]);
    pos = edges[i];
    lf_before[i] = count;
  }
  auto at = [&](uint64_t offset) {
    return lf_before[std::lower_bound(edges.begin(), edges.end(), offset) - edges.begin()];
  };
  for (part& p : parts) {
    const uint64_t end = p.body_offset + p.body_size;
    uint64_t lines = at(end) - at(p.body_offset);
    if (p.body_size > 0 && msg[end - 1] != '\n') ++lines;  // a last line without LF
    p.body_lines =
        static_cast<uint32_t>(std::min<uint64_t>(lines, std::numeric_limits<uint32_t>::max()));
  }
}

}  // namespace

message_structure parse(std::string_view message) { return parse(message, progress_fn()); }

message_structure parse(std::string_view message, const progress_fn& progress) {
  init_gmime();
  message_structure s;
  walker(message, s, progress).run();
  // The line count is a second forward pass: it starts again from the top.
  if (progress) progress(0);
  count_body_lines(message, s.parts, progress);
  s.header_size = s.parts[0].body_offset;
  s.body_lines = s.parts[0].body_lines;
  return s;
}

}  // namespace postern::mime
