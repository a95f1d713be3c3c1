// The indexed text of a message (search_document.hpp).
#include "mime/search_document.hpp"

#include <algorithm>

#include "base/strings.hpp"
#include "mime/header_fields.hpp"
#include "mime/html_text.hpp"
#include "mime/search_fold.hpp"
#include "mime/text_decode.hpp"
#include "mime/transfer_decode.hpp"

namespace postern::mime {

namespace {

constexpr size_t piece_size = 64 * 1024;

std::string_view clamp(std::string_view message, uint64_t begin, uint64_t end) {
  begin = std::min<uint64_t>(begin, message.size());
  end = std::clamp<uint64_t>(end, begin, message.size());
  return message.substr(begin, end - begin);
}

// Appends folded text to one field, a separator before each new piece, the
// separator byte itself taken out of the text, and stops at the limit.
struct field_writer {
  std::string& out;
  size_t limit;
  bool& truncated;
  bool open = false;  // a piece has started and nothing followed the separator

  void begin_piece() {
    if (!out.empty()) out += piece_separator;
    open = true;
  }
  void add(std::string_view utf8) {
    if (out.size() >= limit) {
      truncated = truncated || !utf8.empty();
      return;
    }
    const size_t from = out.size();
    append_search_folded(utf8, out);
    std::replace(out.begin() + static_cast<std::ptrdiff_t>(from), out.end(), piece_separator, ' ');
    if (out.size() > limit) {
      size_t cut = limit;
      while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
      out.resize(cut);
      truncated = true;
    }
  }
};

bool is_text(const part& p) { return p.content_type.starts_with("text/"); }

bool is_encapsulated(const std::vector<part>& parts, size_t i) {
  if (i == 0) return false;
  const part& c = parts[i - 1];
  return (c.content_type == "message/rfc822" || c.content_type == "message/global") &&
         parts[i].header_offset == c.body_offset;
}

void add_fields(std::string_view header, field_writer& w) {
  std::string line;
  for_each_field(header, [&](std::string_view name, std::string_view raw) {
    line.assign(name);
    line += ": ";
    line += decode_header_value(raw);
    w.begin_piece();
    w.add(line);
    return false;
  });
}

// A text entity's body as UTF-8, at most `limit` bytes of it (more: *cut).
std::string decoded_text(std::string_view body, const part& p, size_t limit, bool& cut) {
  transfer_decoder transfer(classify_cte(p.transfer_encoding));
  charset_decoder charset(p.charset);
  std::string decoded, utf8;
  const size_t piece = std::min(piece_size, limit);
  for (size_t at = 0; at < body.size() && utf8.size() < limit; at += piece) {
    transfer.feed(body.substr(at, piece), decoded);
    charset.feed(decoded, utf8);
    decoded.clear();
  }
  if (utf8.size() < limit) {
    transfer.finish(decoded);
    charset.feed(decoded, utf8);
    charset.finish(utf8);
  } else {
    cut = true;
  }
  return utf8;
}

}  // namespace

std::string bare_addresses(std::string_view raw) {
  std::string out;
  int depth = 0;
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '\\' && depth > 0) {
      ++i;
      continue;
    }
    if (c == '(') {
      ++depth;
      continue;
    }
    if (c == ')' && depth > 0) {
      --depth;
      continue;
    }
    if (depth) continue;
    if (blank(c)) {
      size_t j = i;
      while (j < raw.size() && blank(raw[j])) ++j;
      bool next_joins = j < raw.size() && (raw[j] == '@' || raw[j] == '.' || raw[j] == '(');
      bool prev_joins = !out.empty() && (out.back() == '@' || out.back() == '.');
      if (!next_joins && !prev_joins) out += ' ';
      i = j - 1;
      continue;
    }
    out += c;
  }
  return out;
}

std::string make_preview(std::string_view text) {
  std::string out;
  size_t chars = 0;
  bool space = false;
  for (size_t i = 0; i < text.size() && chars < max_preview_chars;) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') {
      space = !out.empty();
      ++i;
      continue;
    }
    if (space) {
      out += ' ';
      ++chars;
      space = false;
      if (chars == max_preview_chars) break;
    }
    size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    len = std::min(len, text.size() - i);
    // Control characters other than white space have no place in a preview.
    if (c < 0x20 || c == 0x7F) {
      ++i;
      continue;
    }
    out.append(text.substr(i, len));
    i += len;
    ++chars;
  }
  return out;
}

std::string preview_of(std::string_view message, const message_structure& s) {
  constexpr size_t preview_source_limit = 16 * 1024;
  for (const part& p : s.parts) {
    if (!is_text(p) || p.disposition == "attachment") continue;
    bool cut = false;
    std::string text = decoded_text(clamp(message, p.body_offset, p.body_offset + p.body_size), p,
                                    preview_source_limit, cut);
    if (p.content_type == "text/html") text = html_to_text(text);
    auto preview = make_preview(text);
    if (!preview.empty()) return preview;
  }
  return {};
}

search_document make_search_document(std::string_view message, const message_structure& s,
                                     size_t limit) {
  search_document d;
  if (s.parts.empty()) return d;
  // Top-level fields by name (every occurrence, as header_field_contains reads them).
  struct named {
    std::string_view name;
    std::string* out;
    bool address;
  };
  const named wanted[] = {{"Subject", &d.subject, false},
                          {"From", &d.from, true},
                          {"To", &d.to, true},
                          {"Cc", &d.cc, true},
                          {"Bcc", &d.bcc, true}};
  bool cut = false;
  for_each_field(clamp(message, s.parts[0].header_offset, s.parts[0].body_offset),
                 [&](std::string_view name, std::string_view raw) {
                   for (auto& w : wanted) {
                     if (!base::iequals(base::trim(name), w.name)) continue;
                     field_writer fw{*w.out, limit, cut};
                     std::string value = decode_header_value(raw);
                     fw.begin_piece();
                     fw.add(value);
                     if (w.address) {
                       fw.begin_piece();
                       fw.add(bare_addresses(value));
                     }
                   }
                   return false;
                 });
  field_writer headers{d.headers, limit, d.truncated};
  field_writer body{d.body, limit, d.truncated};
  std::string preview_source;
  for (size_t i = 0; i < s.parts.size(); ++i) {
    const part& p = s.parts[i];
    const std::string_view header = clamp(message, p.header_offset, p.body_offset);
    add_fields(header, headers);
    if (is_encapsulated(s.parts, i)) add_fields(header, body);
    if (!p.name.empty()) {
      body.begin_piece();
      body.add(p.name);
    }
    if (!is_text(p)) continue;
    std::string text = decoded_text(clamp(message, p.body_offset, p.body_offset + p.body_size), p,
                                    limit, d.truncated);
    if (p.content_type == "text/html") text = html_to_text(text);
    // The preview is the first text a reader sees: not an attachment.
    if (preview_source.empty() && p.disposition != "attachment") {
      preview_source = make_preview(text);
    }
    body.begin_piece();
    body.add(text);
  }
  d.truncated = d.truncated || cut;
  d.preview = std::move(preview_source);
  return d;
}

}  // namespace postern::mime
