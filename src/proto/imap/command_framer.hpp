// Where one whole IMAP command ends (RFC 9051 §2.2.1, §4.3; RFC 7888 LITERAL+ and
// LITERAL-; RFC 3516 literal8), in bytes that arrive in arbitrary pieces. Pure: no I/O.
//
// Contract:
// - Ownership: the framer keeps no pointer into the caller's buffer; it remembers only
//   offsets and counters, so the caller may reallocate or append between calls.
// - Resumability: the caller may stop and resume at any byte, including inside a literal
//   or a half-read "{12" marker. Any split of the same bytes gives the same frames at the
//   same offsets; work per call is proportional to the bytes added since the last call.
// - A line ends at LF (CRLF, or a bare LF as some scripted clients send). A literal marker
//   counts only just before that end: "{n}", "{n+}", "~{n}", "~{n+}". Anything else that
//   looks like one ("{}", "{x}", "{n}" mid-line, more than 20 digits) is plain line data
//   and is left to the command parser. Literal bytes are opaque (STYLE: only the exact
//   byte count ends a literal, so nothing can be smuggled inside one).
// - Quoted strings are not tracked: a quoted string cannot hold CR or LF (RFC 9051 §9),
//   so a marker just before a line end can never be inside a valid one; an unterminated
//   quote is a syntax error the parser reports either way.
// - Errors are frames, never exceptions or asserts. A buffer shorter than the bytes already
//   scanned (a caller bug) gives need_more and changes nothing.
// - Not thread-safe; one framer per connection, reused with reset().
//
// The caller's loop:
//   need_more       read more (in discarding mode first drop the whole buffer), scan again
//   continuation    send "+ ..." (RFC 9051 §7.5), then scan again: it goes on where it stopped
//   complete        if discarding(): the over-long command has ended; reply BAD, do not run
//                   it. Otherwise parse and run bytes [0, length). Either way erase the first
//                   `length` bytes (what follows is the next pipelined command) and reset()
//   too_long        erase the first `length` bytes (they belong to the over-long command);
//                   the framer is now discarding: scan what is left of the buffer next, then
//                   each fresh piece, until `complete`
//   literal_too_big reply tagged NO/BAD without "+", erase `length` bytes, reset()
// After complete or literal_too_big, scan() repeats that frame until reset().
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace postern::proto::imap {

struct frame {
  enum class kind {
    // No complete command yet: read more bytes, call scan() again.
    need_more,
    // A synchronizing literal {n} / ~{n} was just announced at the end of a line
    // (length = bytes up to and including that line's LF): send "+ ..." now, then read
    // more and call scan() again.
    continuation,
    // The command is bytes [0, length) of the buffer, final CRLF included. While
    // discarding: `length` bytes of this piece belonged to the discarded command.
    complete,
    // The command exceeds max_command bytes (line bytes + literal bytes), or announced a
    // non-synchronizing literal {n+} larger than max_literal (RFC 7888 §4 LITERAL-: the
    // client sends it anyway, so it must be read and dropped). length = bytes of this
    // buffer consumed as part of the command; literal_size = that literal's size, or 0
    // when the line itself was too long. The framer switches to discarding mode.
    too_long,
    // A synchronizing literal was announced that is larger than max_literal, or that would
    // take the command past max_command: answer with a tagged NO/BAD and do NOT send "+".
    // The command ends at that line's LF (the client will not send the literal);
    // length = bytes up to and including it.
    literal_too_big,
  } what = kind::need_more;
  size_t length = 0;          // see above
  uint64_t literal_size = 0;  // for continuation, too_long, literal_too_big
};

class command_framer {
 public:
  // max_command bounds a whole command, literals included (0 is taken as 1); max_literal
  // bounds any one literal.
  command_framer(size_t max_command, uint64_t max_literal);

  // Normal mode: `buffer` holds the current command from its first byte; between calls
  // more bytes may have been appended at the end (the prefix is unchanged).
  // Discarding mode (after too_long): `buffer` holds only bytes not passed before; the
  // caller drops them after need_more. scan() returns need_more while the command goes on
  // and `complete` with length = bytes of this piece that belong to the discarded command
  // once it has ended. A synchronizing literal announced while discarding ends the command
  // at that line end (the client waits for "+"); a non-synchronizing literal's bytes are
  // skipped, however many.
  frame scan(std::string_view buffer);

  // True from too_long until reset().
  bool discarding() const { return discarding_; }

  // Ready for the next command (also leaves discarding mode).
  void reset();

  size_t max_command() const { return max_command_; }
  uint64_t max_literal() const { return max_literal_; }

 private:
  // How the end of the current line looks so far, for recognising "{n}" / "{n+}" just
  // before CRLF. A '~' in front changes nothing for framing, so it is not tracked.
  enum class marker : uint8_t { none, open, digits, plus, closed, closed_cr };
  enum class phase : uint8_t { line, literal, done };

  void feed_marker(char c);
  frame scan_command(std::string_view buffer);
  frame scan_discarded(std::string_view piece);
  frame finish(frame::kind what, size_t length, uint64_t literal_size = 0);

  size_t max_command_;
  uint64_t max_literal_;

  phase phase_ = phase::line;
  bool discarding_ = false;
  size_t pos_ = 0;             // normal mode: bytes of the command scanned so far
  uint64_t literal_left_ = 0;  // bytes of the current literal still to skip
  marker marker_ = marker::none;
  bool marker_sync_ = true;    // no '+' before '}'
  uint8_t marker_digits_ = 0;  // digits seen after '{'
  uint64_t marker_value_ = 0;  // their value
  frame done_;                 // repeated after complete / literal_too_big until reset()
};

}  // namespace postern::proto::imap
