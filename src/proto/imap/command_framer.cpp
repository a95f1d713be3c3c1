#include "proto/imap/command_framer.hpp"

#include <algorithm>

namespace postern::proto::imap {

namespace {

// A uint64 has at most 20 decimal digits; more is never a literal size.
constexpr uint8_t max_marker_digits = 20;

}  // namespace

command_framer::command_framer(size_t max_command, uint64_t max_literal)
    : max_command_(std::max<size_t>(max_command, 1)), max_literal_(max_literal) {}

void command_framer::reset() {
  phase_ = phase::line;
  discarding_ = false;
  pos_ = 0;
  literal_left_ = 0;
  marker_ = marker::none;
  done_ = frame{};
}

frame command_framer::finish(frame::kind what, size_t length, uint64_t literal_size) {
  phase_ = phase::done;
  done_ = frame{what, length, literal_size};
  return done_;
}

// Tracks whether the line so far ends in "{" number ["+"] "}" [CR]: RFC 9051 §9 literal,
// RFC 7888 §3 literal-nonsync. The LF itself is handled by the caller.
void command_framer::feed_marker(char c) {
  switch (c) {
    case '{':
      marker_ = marker::open;
      marker_sync_ = true;
      marker_digits_ = 0;
      marker_value_ = 0;
      return;
    case '+':
      marker_ = marker_ == marker::digits ? marker::plus : marker::none;
      return;
    case '}':
      if (marker_ == marker::digits || marker_ == marker::plus) {
        marker_sync_ = marker_ == marker::digits;
        marker_ = marker::closed;
      } else {
        marker_ = marker::none;
      }
      return;
    case '\r':
      marker_ = marker_ == marker::closed ? marker::closed_cr : marker::none;
      return;
    default:
      break;
  }
  if (c >= '0' && c <= '9' && (marker_ == marker::open || marker_ == marker::digits)) {
    auto d = static_cast<uint64_t>(c - '0');
    if (marker_digits_ == max_marker_digits || marker_value_ > (UINT64_MAX - d) / 10) {
      marker_ = marker::none;  // not a number a literal can have: plain line data
      return;
    }
    marker_value_ = marker_value_ * 10 + d;
    ++marker_digits_;
    marker_ = marker::digits;
    return;
  }
  marker_ = marker::none;
}

frame command_framer::scan(std::string_view buffer) {
  if (phase_ == phase::done) return done_;
  return discarding_ ? scan_discarded(buffer) : scan_command(buffer);
}

frame command_framer::scan_command(std::string_view buffer) {
  if (buffer.size() < pos_) return frame{};
  while (pos_ < buffer.size()) {
    if (phase_ == phase::literal) {
      // RFC 9051 §4.3: exactly n octets of any value; CR, LF and '{' mean nothing here.
      auto take = static_cast<size_t>(
          std::min<uint64_t>(literal_left_, static_cast<uint64_t>(buffer.size() - pos_)));
      pos_ += take;
      literal_left_ -= take;
      if (literal_left_ == 0) phase_ = phase::line;
      continue;
    }
    char c = buffer[pos_++];
    if (c != '\n') {
      feed_marker(c);
      // At least one more byte (the LF) is still to come, so the command is already
      // longer than max_command: no need to wait for it.
      if (pos_ >= max_command_) {
        discarding_ = true;
        return frame{frame::kind::too_long, pos_, 0};
      }
      continue;
    }
    if (marker_ != marker::closed && marker_ != marker::closed_cr)
      return finish(frame::kind::complete, pos_);

    // The line ends in a literal marker. pos_ <= max_command_ here, and the command needs
    // n literal bytes plus at least one LF after them.
    uint64_t n = marker_value_;
    bool fits = n < static_cast<uint64_t>(max_command_ - pos_) && n <= max_literal_;
    marker_ = marker::none;
    if (marker_sync_) {
      // RFC 9051 §7.5: the client waits for "+" before sending a synchronizing literal,
      // so refusing it here ends the command; nothing needs discarding.
      if (!fits) return finish(frame::kind::literal_too_big, pos_, n);
      literal_left_ = n;
      if (n > 0) phase_ = phase::literal;
      return frame{frame::kind::continuation, pos_, n};
    }
    literal_left_ = n;
    if (n > 0) phase_ = phase::literal;
    if (!fits) {
      // RFC 7888 §4: a non-synchronizing literal arrives unasked; skip its bytes.
      discarding_ = true;
      return frame{frame::kind::too_long, pos_, n};
    }
  }
  return frame{};
}

frame command_framer::scan_discarded(std::string_view piece) {
  size_t i = 0;
  while (i < piece.size()) {
    if (phase_ == phase::literal) {
      auto take = static_cast<size_t>(
          std::min<uint64_t>(literal_left_, static_cast<uint64_t>(piece.size() - i)));
      i += take;
      literal_left_ -= take;
      if (literal_left_ == 0) phase_ = phase::line;
      continue;
    }
    char c = piece[i++];
    if (c != '\n') {
      feed_marker(c);
      continue;
    }
    bool literal = marker_ == marker::closed || marker_ == marker::closed_cr;
    marker_ = marker::none;
    // A synchronizing literal is never sent without "+", so the command ends here.
    if (!literal || marker_sync_) return finish(frame::kind::complete, i);
    literal_left_ = marker_value_;
    if (literal_left_ > 0) phase_ = phase::literal;
  }
  return frame{};
}

}  // namespace postern::proto::imap
