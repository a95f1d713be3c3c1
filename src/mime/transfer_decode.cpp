// Transfer decoding (transfer_decode.hpp): base64 and quoted-printable as state
// machines over single bytes, so that a chunk may end anywhere.
#include "mime/transfer_decode.hpp"

#include <array>

#include "base/strings.hpp"

namespace postern::mime {
namespace {

// Bound on the blanks a QP decoder holds while it waits to see whether a line
// break follows them (RFC 2045 §6.7 rule 3). Real trailing blanks are a few
// bytes: RFC 2045 lines are at most 76 characters.
constexpr size_t max_held_blanks = 4096;

// Input is taken in pieces of this size by the helpers that decode a whole body.
constexpr size_t piece_size = 64 * 1024;

bool is_blank(char c) { return c == ' ' || c == '\t'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// RFC 2045 §6.8 Table 1; -1 for bytes outside the alphabet.
constexpr std::array<int8_t, 256> make_base64_table() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < alphabet.size(); ++i) {
    t[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
  }
  return t;
}
constexpr std::array<int8_t, 256> base64_table = make_base64_table();

// Bytes the QP decoder must look at one by one; all others are copied in runs.
bool qp_special(char c) { return c == '=' || is_blank(c); }

}  // namespace

cte classify_cte(std::string_view transfer_encoding) {
  const std::string_view t = base::trim(transfer_encoding);
  if (t.empty() || base::iequals(t, "7bit") || base::iequals(t, "8bit") ||
      base::iequals(t, "binary")) {
    return cte::identity;
  }
  if (base::iequals(t, "base64")) return cte::base64;
  if (base::iequals(t, "quoted-printable")) return cte::quoted_printable;
  return cte::unknown;
}

transfer_decoder::transfer_decoder(cte encoding) : encoding_(encoding) {}

void transfer_decoder::feed(std::string_view in, std::string& out) {
  switch (encoding_) {
    case cte::base64:
      feed_base64(in, out);
      return;
    case cte::quoted_printable:
      feed_qp(in, out);
      return;
    case cte::identity:
    case cte::unknown:
      out.append(in);
      return;
  }
}

void transfer_decoder::feed_base64(std::string_view in, std::string& out) {
  if (done_) return;
  for (const char c : in) {
    const int v = base64_table[static_cast<unsigned char>(c)];
    if (v < 0) {
      if (c != '=') continue;  // line breaks and junk
      // Padding (or a stray '='): what is gathered is the last group.
      if (sextets_ == 2) {
        out.push_back(static_cast<char>(bits_ >> 4));
      } else if (sextets_ == 3) {
        out.push_back(static_cast<char>(bits_ >> 10));
        out.push_back(static_cast<char>((bits_ >> 2) & 0xff));
      }
      bits_ = 0;
      sextets_ = 0;
      done_ = true;
      return;
    }
    bits_ = (bits_ << 6) | static_cast<uint32_t>(v);
    if (++sextets_ == 4) {
      out.push_back(static_cast<char>(bits_ >> 16));
      out.push_back(static_cast<char>((bits_ >> 8) & 0xff));
      out.push_back(static_cast<char>(bits_ & 0xff));
      bits_ = 0;
      sextets_ = 0;
    }
  }
}

void transfer_decoder::feed_qp(std::string_view in, std::string& out) {
  size_t i = 0;
  while (i < in.size()) {
    if (state_ == qp_state::normal) {
      // Plain text, line breaks included, goes out in runs.
      size_t j = i;
      while (j < in.size() && !qp_special(in[j])) ++j;
      out.append(in.substr(i, j - i));
      i = j;
      if (i == in.size()) break;
    }
    qp_byte(in[i++], out);
  }
}

// One byte through the QP state machine. When the held bytes turn out to be data
// (no soft line break, no trailing blanks, no hex pair) they are output as they
// are (RFC 2045 §6.7 note 2: a robust decoder keeps a malformed "=" sequence)
// and the byte is looked at again from the normal state.
void transfer_decoder::qp_byte(char c, std::string& out) {
  auto flush = [&] {
    out += hold_;
    hold_.clear();
    state_ = qp_state::normal;
  };
  auto drop = [&] {
    hold_.clear();
    state_ = qp_state::normal;
  };
  for (;;) {
    switch (state_) {
      case qp_state::normal:
        if (c == '=') {
          hold_.assign(1, c);
          state_ = qp_state::eq;
        } else if (is_blank(c)) {
          hold_.assign(1, c);
          state_ = qp_state::blanks;
        } else {
          out.push_back(c);
        }
        return;
      case qp_state::blanks:
        if (is_blank(c)) {
          if (hold_.size() >= max_held_blanks) break;  // flush, then start a new run
          hold_.push_back(c);
          return;
        }
        if (c == '\r') {
          hold_.push_back(c);
          state_ = qp_state::blanks_cr;
          return;
        }
        if (c == '\n') {  // rule 3: trailing blanks before a (bare LF) line break
          drop();
          out.push_back('\n');
          return;
        }
        break;
      case qp_state::blanks_cr:
        if (c == '\n') {  // rule 3
          drop();
          out += "\r\n";
          return;
        }
        break;  // a CR that is not a line break: all of it is data
      case qp_state::eq:
        if (const int v = hex_value(c); v >= 0) {
          hex_ = static_cast<uint8_t>(v);
          hold_.push_back(c);
          state_ = qp_state::eq_hex;
          return;
        }
        if (c == '\n') {  // rule 5: soft line break "=\n"
          drop();
          return;
        }
        if (c == '\r') {
          hold_.push_back(c);
          state_ = qp_state::eq_cr;
          return;
        }
        if (is_blank(c)) {  // rule 3: blanks after the "=" of a soft line break
          hold_.push_back(c);
          state_ = qp_state::eq_blanks;
          return;
        }
        break;
      case qp_state::eq_hex:
        if (const int v = hex_value(c); v >= 0) {  // rule 1: "=XX", either case
          out.push_back(static_cast<char>((hex_ << 4) | v));
          drop();
          return;
        }
        break;
      case qp_state::eq_blanks:
        if (is_blank(c)) {
          if (hold_.size() >= max_held_blanks) break;
          hold_.push_back(c);
          return;
        }
        if (c == '\r') {
          hold_.push_back(c);
          state_ = qp_state::eq_cr;
          return;
        }
        if (c == '\n') {
          drop();
          return;
        }
        break;
      case qp_state::eq_cr:
        if (c == '\n') {  // rule 5: soft line break "=\r\n"
          drop();
          return;
        }
        break;
    }
    flush();
  }
}

void transfer_decoder::finish(std::string& out) {
  switch (encoding_) {
    case cte::base64:
      if (!done_) {
        if (sextets_ == 2) {
          out.push_back(static_cast<char>(bits_ >> 4));
        } else if (sextets_ == 3) {
          out.push_back(static_cast<char>(bits_ >> 10));
          out.push_back(static_cast<char>((bits_ >> 2) & 0xff));
        }
      }
      break;
    case cte::quoted_printable:
      // The end of the body ends its last line: trailing blanks go (rule 3), and
      // so does a final "=" (a soft line break with nothing after it).
      switch (state_) {
        case qp_state::blanks_cr:
          out.push_back('\r');
          break;
        case qp_state::eq_hex:
          out += hold_;
          break;
        default:
          break;
      }
      break;
    case cte::identity:
    case cte::unknown:
      break;
  }
  bits_ = 0;
  sextets_ = 0;
  done_ = false;
  state_ = qp_state::normal;
  hex_ = 0;
  hold_.clear();
}

void decoded_size_counter::feed(std::string_view in) {
  while (!in.empty()) {
    const std::string_view piece = in.substr(0, piece_size);
    in.remove_prefix(piece.size());
    scratch_.clear();
    decoder_.feed(piece, scratch_);
    size_ += scratch_.size();
  }
}

uint64_t decoded_size_counter::finish() {
  scratch_.clear();
  decoder_.finish(scratch_);
  const uint64_t total = size_ + scratch_.size();
  size_ = 0;
  scratch_.clear();
  return total;
}

uint64_t decoded_size(std::string_view body, cte encoding) {
  if (encoding == cte::identity || encoding == cte::unknown) return body.size();
  decoded_size_counter counter(encoding);
  counter.feed(body);
  return counter.finish();
}

std::string decode_body(std::string_view body, cte encoding) {
  std::string out;
  out.reserve(encoding == cte::base64 ? body.size() / 4 * 3 + 3 : body.size());
  transfer_decoder d(encoding);
  d.feed(body, out);
  d.finish(out);
  return out;
}

}  // namespace postern::mime
