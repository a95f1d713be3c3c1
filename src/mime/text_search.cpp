// SEARCH text matching (text_search.hpp): each entity's text is decoded,
// converted and folded in pieces on its way to a matcher, so a 50 MB base64
// attachment costs one piece of memory, not the decoded whole.
#include "mime/text_search.hpp"

#include <algorithm>
#include <functional>
#include <optional>

#include "base/strings.hpp"
#include "mime/header_fields.hpp"
#include "mime/search_fold.hpp"
#include "mime/text_decode.hpp"
#include "mime/transfer_decode.hpp"

namespace postern::mime {

struct text_needle::impl {
  std::string folded;
  // Over `folded`, which lives as long as this and never moves.
  std::optional<std::boyer_moore_searcher<std::string::const_iterator>> searcher;
};

namespace {

constexpr size_t piece_size = 64 * 1024;
// Below this length std::string_view::find (memchr, then compare) is faster than
// building and using Boyer-Moore tables, and its worst case is still small.
constexpr size_t boyer_moore_from = 8;

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string_view clamp(std::string_view message, uint64_t begin, uint64_t end) {
  begin = std::min<uint64_t>(begin, message.size());
  end = std::clamp<uint64_t>(end, begin, message.size());
  return message.substr(begin, end - begin);
}

std::string_view entity_header(std::string_view message, const part& p) {
  return clamp(message, p.header_offset, p.body_offset);
}

// "Name: decoded value", folded, as TEXT and encapsulated headers are matched.
bool header_text_contains(std::string_view header, const text_needle& n) {
  if (n.empty()) return true;
  std::string line;
  std::string folded;
  return for_each_field(header, [&](std::string_view name, std::string_view raw) {
    line.assign(name);
    line += ": ";
    line += decode_header_value(raw);
    folded.clear();
    append_search_folded(line, folded);
    return n.found_in(folded);
  });
}

// A text entity's body: transfer decoding, then charset, then folding, a piece
// at a time; a piece's output is whole code points (charset_decoder), which is
// what folding needs.
bool text_body_contains(std::string_view body, const part& p, const text_needle& n) {
  transfer_decoder transfer(classify_cte(p.transfer_encoding));
  charset_decoder charset(p.charset);
  folded_matcher matcher(n);
  std::string decoded;
  std::string utf8;
  std::string folded;
  auto push = [&](bool last) {
    if (last) transfer.finish(decoded);
    charset.feed(decoded, utf8);
    if (last) charset.finish(utf8);
    append_search_folded(utf8, folded);
    const bool found = matcher.feed(folded);
    decoded.clear();
    utf8.clear();
    folded.clear();
    return found;
  };
  for (size_t at = 0; at < body.size(); at += piece_size) {
    transfer.feed(body.substr(at, piece_size), decoded);
    if (push(false)) return true;
  }
  return push(true);
}

bool is_text(const part& p) { return p.content_type.starts_with("text/"); }

// parts[i] is the message inside the message/rfc822 (or message/global) part
// before it: the parser starts an encapsulated message right at its container's
// body, and nothing else starts there (message_structure.hpp).
bool is_encapsulated(const std::vector<part>& parts, size_t i) {
  if (i == 0) return false;
  const part& c = parts[i - 1];
  return (c.content_type == "message/rfc822" || c.content_type == "message/global") &&
         parts[i].header_offset == c.body_offset;
}

}  // namespace

bool for_each_field(std::string_view header,
                    const std::function<bool(std::string_view, std::string_view)>& f) {
  std::string_view name;
  size_t value_begin = 0;
  size_t value_end = 0;
  bool open = false;
  size_t pos = 0;
  while (pos < header.size()) {
    const size_t lf = header.find('\n', pos);
    const size_t next = lf == std::string_view::npos ? header.size() : lf + 1;
    size_t end = lf == std::string_view::npos ? header.size() : lf;
    if (end > pos && header[end - 1] == '\r') --end;
    if (end == pos) break;  // the blank line
    if (is_blank(header[pos])) {
      if (open) value_end = end;  // RFC 5322 §2.2.3 folding
    } else {
      if (open && f(name, header.substr(value_begin, value_end - value_begin))) return true;
      open = false;
      const size_t colon = header.find(':', pos);
      if (colon != std::string_view::npos && colon < end) {
        name = header.substr(pos, colon - pos);
        while (!name.empty() && is_blank(name.back())) name.remove_suffix(1);  // obs-optional
        value_begin = colon + 1;
        value_end = end;
        open = true;
      }
    }
    pos = next;
  }
  return open && f(name, header.substr(value_begin, value_end - value_begin));
}

text_needle::text_needle(std::string_view utf8_needle) {
  auto i = std::make_shared<impl>();
  i->folded = search_fold(utf8_needle);
  if (i->folded.size() >= boyer_moore_from) {
    i->searcher.emplace(i->folded.cbegin(), i->folded.cend());
  }
  impl_ = std::move(i);
}

bool text_needle::empty() const { return impl_->folded.empty(); }

const std::string& text_needle::folded() const { return impl_->folded; }

bool text_needle::found_in(std::string_view folded_text) const {
  const impl& i = *impl_;
  if (i.folded.size() > folded_text.size()) return false;
  if (!i.searcher) return folded_text.find(i.folded) != std::string_view::npos;
  // Not found is (end, end); the needle is not empty, so a match never is.
  return (*i.searcher)(folded_text.begin(), folded_text.end()).first != folded_text.end();
}

bool folded_matcher::feed(std::string_view folded_text) {
  if (found_) return true;
  if (needle_.empty()) return found_ = true;
  window_.append(folded_text);
  if (needle_.found_in(window_)) return found_ = true;
  // Keep what could be the start of a match that the next piece completes.
  const size_t keep = needle_.folded().size() - 1;
  if (window_.size() > keep) window_.erase(0, window_.size() - keep);
  return false;
}

bool header_field_contains(std::string_view message, const message_structure& s,
                           std::string_view field_name, const text_needle& n) {
  if (s.parts.empty()) return false;
  const std::string_view wanted = base::trim(field_name);
  std::string folded;
  return for_each_field(entity_header(message, s.parts[0]),
                        [&](std::string_view name, std::string_view raw) {
                          if (!base::iequals(name, wanted)) return false;
                          // RFC 9051 §6.4.4: "" matches every message with the field.
                          if (n.empty()) return true;
                          folded.clear();
                          append_search_folded(decode_header_value(raw), folded);
                          return n.found_in(folded);
                        });
}

bool body_contains(std::string_view message, const message_structure& s, const text_needle& n) {
  if (n.empty()) return true;
  for (size_t i = 0; i < s.parts.size(); ++i) {
    const part& p = s.parts[i];
    if (is_encapsulated(s.parts, i) && header_text_contains(entity_header(message, p), n)) {
      return true;
    }
    if (is_text(p) &&
        text_body_contains(clamp(message, p.body_offset, p.body_offset + p.body_size), p, n)) {
      return true;
    }
  }
  return false;
}

bool text_contains(std::string_view message, const message_structure& s, const text_needle& n) {
  if (n.empty()) return true;
  for (const part& p : s.parts) {
    if (header_text_contains(entity_header(message, p), n)) return true;
  }
  for (const part& p : s.parts) {
    if (is_text(p) &&
        text_body_contains(clamp(message, p.body_offset, p.body_offset + p.body_size), p, n)) {
      return true;
    }
  }
  return false;
}

}  // namespace postern::mime
