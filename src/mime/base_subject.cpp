// base_subject() (base_subject.hpp): RFC 5256 §2.1.
//
// The extraction never copies or erases: it narrows a window [begin, end) of the
// decoded subject. Every step moves a bound past what it has read, or stops, and
// the one look-ahead that can fail after a long scan (a run of subj-blobs not
// followed by a subj-refwd) is resolved at once rather than rescanned blob by
// blob, so the whole extraction is linear in the length of the subject.
#include "mime/base_subject.hpp"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/stringpiece.h>
#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include <climits>

#include "mime/text_decode.hpp"

namespace postern::mime {
namespace {

constexpr size_t npos = std::string_view::npos;

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Step (1) after decoding: "Convert all tabs and continuations to space. Convert
// all multiple spaces to a single space."
std::string collapse_blanks(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  bool blank = false;
  for (const char c : in) {
    if (is_blank(c)) {
      if (!blank) out.push_back(' ');
      blank = true;
    } else {
      out.push_back(c);
      blank = false;
    }
  }
  return out;
}

// The window of the subject still to be read, and the grammar of §2.1 on it.
// After collapse_blanks() the only WSP is a single space.
class extraction {
 public:
  explicit extraction(std::string_view s) : s_(s), begin_(0), end_(s.size()) {}

  std::string_view run(bool& reply_or_forward) {
    for (;;) {
      if (remove_trailers()) reply_or_forward = true;  // (2)
      if (remove_leaders()) reply_or_forward = true;   // (3), (4), (5)
      // (6) subj-fwd-hdr "[fwd:" and subj-fwd-trl "]", then again from (2).
      if (end_ - begin_ >= 6 && at(begin_, "[fwd:") && s_[end_ - 1] == ']') {
        begin_ += 5;
        --end_;
        reply_or_forward = true;
        continue;
      }
      return s_.substr(begin_, end_ - begin_);
    }
  }

 private:
  // Whether `word` (lower-case ASCII) is at `pos`, in any ASCII case.
  bool at(size_t pos, std::string_view word) const {
    if (pos > end_ || end_ - pos < word.size()) return false;
    for (size_t i = 0; i < word.size(); ++i) {
      if (ascii_lower(s_[pos + i]) != word[i]) return false;
    }
    return true;
  }

  size_t skip_spaces(size_t pos) const {
    while (pos < end_ && s_[pos] == ' ') ++pos;
    return pos;
  }

  // subj-blob = "[" *BLOBCHAR "]" *WSP, BLOBCHAR being any CHAR8 (%x01-ff) but
  // '[' and ']'. Returns where the blob ends, or npos.
  size_t blob_end(size_t pos) const {
    if (pos >= end_ || s_[pos] != '[') return npos;
    size_t q = pos + 1;
    while (q < end_ && s_[q] != '[' && s_[q] != ']' && s_[q] != '\0') ++q;
    if (q >= end_ || s_[q] != ']') return npos;
    return skip_spaces(q + 1);
  }

  // What follows the word of a subj-refwd: *WSP [subj-blob] ":".
  size_t refwd_tail_end(size_t pos) const {
    pos = skip_spaces(pos);
    if (const size_t b = blob_end(pos); b != npos) pos = b;
    return pos < end_ && s_[pos] == ':' ? pos + 1 : npos;
  }

  // subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":". Returns its end or npos.
  size_t refwd_end(size_t pos) const {
    if (at(pos, "re")) return refwd_tail_end(pos + 2);
    if (!at(pos, "fw")) return npos;
    if (at(pos, "fwd")) {
      if (const size_t q = refwd_tail_end(pos + 3); q != npos) return q;
    }
    return refwd_tail_end(pos + 2);
  }

  // (2): subj-trailer = "(fwd)" / WSP, removed until none is left.
  bool remove_trailers() {
    bool fwd = false;
    for (;;) {
      if (end_ > begin_ && s_[end_ - 1] == ' ') {
        --end_;
      } else if (end_ - begin_ >= 5 && at(end_ - 5, "(fwd)")) {
        end_ -= 5;
        fwd = true;
      } else {
        return fwd;
      }
    }
  }

  // (3) removes subj-leader = (*subj-blob subj-refwd) / WSP; (4) removes a
  // subj-blob when text remains after it; (5) repeats both. Returns whether a
  // subj-refwd was removed.
  bool remove_leaders() {
    bool refwd = false;
    for (;;) {
      if (begin_ < end_ && s_[begin_] == ' ') {
        ++begin_;
        continue;
      }
      // The blobs a leader may start with; a subj-refwd never starts with '[',
      // so the longest run is the only one a leader can use.
      size_t run_end = begin_, last_blob = npos;
      for (size_t b; (b = blob_end(run_end)) != npos; run_end = b) last_blob = run_end;
      if (const size_t q = refwd_end(run_end); q != npos) {
        begin_ = q;  // (3)
        refwd = true;
        continue;
      }
      if (last_blob == npos) return refwd;
      // (4) takes the first blob; (3) then fails again at the same run_end, so
      // (5) goes on taking blobs while text remains after each: all of them, or
      // all but the last if the run reaches the end.
      begin_ = run_end < end_ ? run_end : last_blob;
      return refwd;
    }
  }

  std::string_view s_;
  size_t begin_;
  size_t end_;
};

bool is_ascii(std::string_view s) {
  for (const char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

}  // namespace

// i;unicode-casemap (RFC 5051 §2): each character to its titlecase (simple
// mapping), then NFKD. Titlecase, not lower case, is what orders keys as
// other servers do: "[" and "_" sort after letters. Without ICU data, or for
// a text beyond ICU's int32_t lengths, ASCII is upper-cased and the rest kept.
std::string unicode_casemap(std::string_view text) {
  std::string titled;
  titled.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    UChar32 c;
    size_t at = i;
    U8_NEXT(reinterpret_cast<const uint8_t*>(text.data()), i, text.size(), c);
    if (c < 0) {
      titled.append(text.substr(at, i - at));
      continue;
    }
    c = u_totitle(c);
    char buf[4];
    size_t n = 0;
    U8_APPEND_UNSAFE(reinterpret_cast<uint8_t*>(buf), n, c);
    titled.append(buf, n);
  }
  if (is_ascii(titled) || titled.size() > static_cast<size_t>(INT32_MAX)) return titled;
  UErrorCode err = U_ZERO_ERROR;
  const icu::Normalizer2* nfkd = icu::Normalizer2::getNFKDInstance(err);
  if (U_FAILURE(err) || nfkd == nullptr) return titled;
  std::string out;
  out.reserve(titled.size());
  icu::StringByteSink<std::string> sink(&out);
  nfkd->normalizeUTF8(0, icu::StringPiece(titled.data(), static_cast<int32_t>(titled.size())), sink,
                      nullptr, err);
  if (U_FAILURE(err)) return titled;
  return out;
}

base_subject_result base_subject(std::string_view raw_subject_header_value) {
  const std::string subject = collapse_blanks(decode_header_value(raw_subject_header_value));
  base_subject_result result;
  extraction x(subject);
  result.base = unicode_casemap(x.run(result.reply_or_forward));
  return result;
}

}  // namespace postern::mime
