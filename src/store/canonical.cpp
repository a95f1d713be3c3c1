#include "store/canonical.hpp"

#include <cstring>

namespace postern::store {

namespace {
bool is_canonical(std::string_view b) {
  if (b.size() < 2 || b.substr(b.size() - 2) != "\r\n") return false;
  // memchr-driven: every LF must follow a CR, and every CR precede an LF.
  const char* p = b.data();
  const char* end = p + b.size();
  for (const char* lf = p;
       (lf = static_cast<const char*>(std::memchr(lf, '\n', static_cast<size_t>(end - lf)))) !=
       nullptr;
       ++lf) {
    if (lf == p || lf[-1] != '\r') return false;
  }
  size_t crs = 0;
  for (const char* q = p;
       (q = static_cast<const char*>(std::memchr(q, '\r', static_cast<size_t>(end - q)))) !=
       nullptr;
       ++q) {
    if (q + 1 >= end || q[1] != '\n') return false;
    ++crs;
  }
  return crs > 0;
}
}  // namespace

std::optional<std::string> canonicalize(std::string_view b) {
  if (is_canonical(b)) return std::nullopt;
  std::string out;
  out.reserve(b.size() + b.size() / 32 + 2);
  for (size_t i = 0; i < b.size(); ++i) {
    char c = b[i];
    if (c == '\r') {
      // A lone CR becomes a line break too; CRLF stays one break.
      out += "\r\n";
      if (i + 1 < b.size() && b[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
  return out;
}

uint32_t count_dot_lines(std::string_view b) {
  uint32_t n = (!b.empty() && b[0] == '.') ? 1 : 0;
  const char* p = b.data();
  const char* end = b.data() + b.size();
  while (p < end) {
    auto* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    if (!nl || nl + 1 >= end) break;
    if (nl[1] == '.') ++n;
    p = nl + 1;
  }
  return n;
}

void canonical_stream::feed(std::string_view in, std::string& out) {
  const char* p = in.data();
  const char* end = p + in.size();
  if (p < end) wrote_ = true;
  // Text between line breaks goes out in one piece; the breaks are found
  // with memchr, so CRLF input costs two scans per line.
  auto text = [&](const char* a, const char* b) {
    if (a == b) return;
    if (at_line_start_ && *a == '.') ++dot_lines_;
    at_line_start_ = false;
    out.append(a, static_cast<size_t>(b - a));
  };
  if (pending_cr_ && p < end) {
    pending_cr_ = false;
    line_break(out);
    if (*p == '\n') ++p;
  }
  while (p < end) {
    auto* cr = static_cast<const char*>(std::memchr(p, '\r', static_cast<size_t>(end - p)));
    const char* stop = cr ? cr : end;
    auto* lf = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(stop - p)));
    if (lf) {  // a bare LF before the next CR: a line break
      text(p, lf);
      line_break(out);
      p = lf + 1;
      continue;
    }
    text(p, stop);
    if (!cr) break;
    if (cr + 1 == end) {  // the CR's partner may come in the next piece
      pending_cr_ = true;
      break;
    }
    line_break(out);  // CRLF, or a lone CR, which becomes a line break too
    p = cr[1] == '\n' ? cr + 2 : cr + 1;
  }
}

void canonical_stream::feed_in_place(std::string& buf, size_t from) {
  std::string_view region(buf.data() + from, buf.size() - from);
  if (region.empty()) return;
  // Canonical already if every CR is followed by LF, every LF preceded by CR
  // (within the region, or by a CR just before it), and it does not end in
  // a CR whose partner is still to come.
  bool clean = !pending_cr_ && region.back() != '\r';
  uint32_t dots = 0;
  bool line_start = at_line_start_;
  const char* p = region.data();
  const char* end = p + region.size();
  while (clean && p < end) {
    if (line_start && *p == '.') ++dots;
    auto* lf = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    const char* stop = lf ? lf : end;
    auto* cr = static_cast<const char*>(std::memchr(p, '\r', static_cast<size_t>(stop - p)));
    if (lf) {
      // The only CR allowed in [p, lf] is the one right before the LF.
      clean = lf > p && lf[-1] == '\r' && (cr == nullptr || cr == lf - 1);
      line_start = true;
      p = lf + 1;
    } else {
      clean = cr == nullptr;
      line_start = p == end ? line_start : false;
      p = end;
    }
  }
  if (clean) {
    wrote_ = true;
    dot_lines_ += dots;
    at_line_start_ = line_start;
    return;
  }
  std::string copy(region);
  buf.resize(from);
  feed(copy, buf);
}

void canonical_stream::finish(std::string& out) {
  if (pending_cr_) {
    pending_cr_ = false;
    line_break(out);
  }
  if (!at_line_start_ || !wrote_) line_break(out);
  wrote_ = true;
}

}  // namespace postern::store
