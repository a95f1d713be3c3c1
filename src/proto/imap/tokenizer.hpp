// Building blocks for IMAP command parsers (RFC 9051 §9 formal syntax) over one complete
// command as the command_framer delimits it. Pure: no I/O.
//
// Contract:
// - Ownership: a cursor holds a view of the command and does not own it; string_views it
//   returns (tag, atom, literal bytes) point into that command and live as long as it.
//   Strings that may need unescaping (quoted, string, astring, nstring) come back owned.
// - Errors: every read returns read_result<T>, a value or a syntax_error whose words are
//   for the tagged BAD reply ("expected SP after tag (found "(")"); the client's bytes
//   quoted in them are escaped with base::printable, so they cannot break the reply line.
//   A syntax_error is a base::parse_failure, so a command parser returning
//   base::parsed<Args> (the command table's type) can `return r.error();`.
//   No exceptions, no asserts on input.
// - A failed read leaves the cursor where it was, so a parser may try an alternative.
// - Line ends: CRLF as RFC 9051 §2.2 requires, and a bare LF as the framer accepts it
//   (scripted clients send those); a lone CR is never a line end.
// - A cursor may also be built over part of a command (the arguments after the verb);
//   offsets are then relative to that part.
// - Not thread-safe; cheap to copy (a view and an offset), which is how a parser saves
//   a position to come back to.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "base/parsed.hpp"

namespace postern::proto::imap {

// words: for the client, what was expected and what was found.
struct syntax_error : base::parse_failure {
  size_t offset = 0;  // where in the command, for the log
};

// A value or a syntax_error.
template <class T>
class read_result {
 public:
  read_result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  read_result(syntax_error e) : v_(std::in_place_index<1>, std::move(e)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const syntax_error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, syntax_error> v_;
};

// For reads that only check (SP, parentheses, end of command).
using checked = read_result<std::monostate>;

struct literal {
  std::string_view bytes;  // exactly the announced octets, into the command
  bool binary = false;     // literal8 "~{n}" (RFC 3516 §4.2): may hold NUL
  bool non_sync = false;   // "{n+}" (RFC 7888)
};

// "*" in a sequence set: never a valid nz-number, so it cannot collide with one.
inline constexpr uint32_t seq_star = 0;

// One element of a sequence set as sent: a single number has first == last; either end
// may be seq_star; "b:a" is kept as sent (RFC 9051 §9 seq-range: order does not matter).
struct seq_range {
  uint32_t first = 0;
  uint32_t last = 0;
  bool operator==(const seq_range&) const = default;
};

struct sequence_set {
  std::vector<seq_range> ranges;  // empty when saved_result
  bool saved_result = false;      // "$": the last SEARCH result (RFC 5182, RFC 9051 §6.4.4.1)
};

// The set's ranges with seq_star replaced by `largest` (the highest number or UID in
// use), each ordered low to high, sorted and merged where they overlap or touch.
std::vector<seq_range> normalize(const sequence_set& set, uint32_t largest);

// True when `s` is well-formed UTF-8 (RFC 3629 §4: no overlongs, no surrogates, at most
// U+10FFFF).
bool valid_utf8(std::string_view s);

class cursor {
 public:
  explicit cursor(std::string_view command) : in_(command) {}

  size_t offset() const { return pos_; }
  std::string_view rest() const { return in_.substr(pos_); }
  bool at_end() const { return pos_ == in_.size(); }
  // True when the next byte is `c`.
  bool peek(char c) const { return pos_ < in_.size() && in_[pos_] == c; }
  // Consumes `c` when it is next; says whether it did.
  bool skip(char c);

  // tag = 1*<any ASTRING-CHAR except "+">
  read_result<std::string_view> read_tag();
  // atom = 1*ATOM-CHAR. `what` names the item in the error ("a command name").
  read_result<std::string_view> read_atom(std::string_view what = "an atom");
  // number = 1*DIGIT, fits in 32 bits.
  read_result<uint32_t> read_number(std::string_view what = "a number");
  // nz-number = digit-nz *DIGIT, fits in 32 bits.
  read_result<uint32_t> read_nz_number(std::string_view what = "a non-zero number");
  // number64 = 1*DIGIT, at most 2^63 - 1 (RFC 9051 §9 says "unsigned 63-bit").
  read_result<uint64_t> read_number64(std::string_view what = "a number");
  // quoted = DQUOTE *QUOTED-CHAR DQUOTE, unescaped: \" and \\ only; no NUL, CR or LF;
  // 8-bit bytes must be UTF-8 (RFC 9051 §9 QUOTED-CHAR, UTF8-2/3/4).
  read_result<std::string> read_quoted(std::string_view what = "a quoted string");
  // literal / literal8: ["~"] "{" number64 ["+"] "}" CRLF and exactly that many bytes.
  // A literal that is not literal8 must not hold NUL (CHAR8 = %x01-ff).
  read_result<literal> read_literal(std::string_view what = "a literal");
  // string = quoted / literal (not literal8: that is only for APPEND and BINARY).
  read_result<std::string> read_string(std::string_view what = "a string");
  // astring = 1*ASTRING-CHAR / string (ASTRING-CHAR is ATOM-CHAR or "]").
  read_result<std::string> read_astring(std::string_view what = "an atom or a string");
  // nstring = string / "NIL" (any case); nullopt for NIL.
  read_result<std::optional<std::string>> read_nstring(std::string_view what = "a string or NIL");
  // sequence-set (RFC 9051 §9): numbers, "*", ranges, comma lists, or "$" alone.
  read_result<sequence_set> read_sequence_set(std::string_view what = "a sequence set");

  // Exactly one SP. `where` completes "expected SP": e.g. "after tag".
  checked expect_sp(std::string_view where = {});
  // "(" and ")" of a parenthesized list.
  checked expect_open(std::string_view where = {});
  checked expect_close(std::string_view where = {});
  // The final CRLF (or LF), and nothing after it.
  checked expect_end();

 private:
  syntax_error error_here(std::string_view message) const;
  syntax_error expected(std::string_view what, std::string_view where = {}) const;
  std::string found() const;
  read_result<uint64_t> read_digits(std::string_view what, uint64_t max, bool nonzero);
  read_result<uint32_t> read_seq_number(std::string_view what);

  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace postern::proto::imap
