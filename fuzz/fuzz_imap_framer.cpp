// IMAP command framing and tokenizing: the same bytes split at random points give the
// same frames as fed whole (and one byte at a time); no frame length exceeds the buffer;
// the tokenizer never reads past a framed command and a failed read never moves it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "proto/imap/command_framer.hpp"
#include "proto/imap/tokenizer.hpp"

namespace imap = postern::proto::imap;

namespace {

struct event {
  imap::frame::kind what;
  uint64_t end;  // offset in the whole stream
  uint64_t literal_size;
  bool discarded;
  bool operator==(const event&) const = default;
};

void check(bool ok) {
  if (!ok) std::abort();
}

// Each read must either fail without moving or move forward within the command.
template <class T>
bool tried(imap::cursor& c, const imap::read_result<T>& r, size_t before) {
  if (!r) {
    check(c.offset() == before && !r.error().words.empty());
    check(r.error().offset <= c.rest().size() + c.offset());
    return false;
  }
  check(c.offset() > before);
  return true;
}

// Runs reads chosen by `selector` over one framed command until it is used up.
void tokenize(std::string_view command, uint8_t selector) {
  std::string_view rest = command;
  for (int round = 0; round < 64 && !rest.empty(); ++round) {
    imap::cursor c(rest);
    bool ok = false;
    switch ((selector + round) % 12) {
      case 0:
        ok = tried(c, c.read_tag(), 0);
        break;
      case 1:
        ok = tried(c, c.read_atom(), 0);
        break;
      case 2:
        ok = tried(c, c.read_number(), 0);
        break;
      case 3:
        ok = tried(c, c.read_nz_number(), 0);
        break;
      case 4:
        ok = tried(c, c.read_number64(), 0);
        break;
      case 5: {
        auto q = c.read_quoted();
        ok = tried(c, q, 0);
        if (ok) check(imap::valid_utf8(*q) && q->find_first_of("\r\n") == std::string::npos);
        break;
      }
      case 6: {
        auto l = c.read_literal();
        ok = tried(c, l, 0);
        if (ok) {
          // The bytes lie inside the command.
          check(l->bytes.data() >= rest.data() &&
                l->bytes.data() + l->bytes.size() <= rest.data() + rest.size());
          check(l->binary || l->bytes.find('\0') == std::string_view::npos);
        }
        break;
      }
      case 7:
        ok = tried(c, c.read_astring(), 0);
        break;
      case 8:
        ok = tried(c, c.read_nstring(), 0);
        break;
      case 9: {
        auto s = c.read_sequence_set();
        ok = tried(c, s, 0);
        if (ok) {
          auto n = imap::normalize(*s, selector);
          for (size_t i = 0; i < n.size(); ++i) {
            check(n[i].first <= n[i].last);
            if (i > 0) check(uint64_t{n[i - 1].last} + 1 < n[i].first);
          }
        }
        break;
      }
      case 10:
        ok = tried(c, c.expect_sp(), 0);
        break;
      default:
        ok = tried(c, c.expect_end(), 0);
        if (ok) check(c.at_end());
        break;
    }
    check(c.offset() <= rest.size());
    rest.remove_prefix(ok ? c.offset() : 1);
  }
}

// The reader loop from command_framer.hpp over `stream` cut at `cuts`.
std::vector<event> drive(std::string_view stream, const std::vector<size_t>& cuts,
                         size_t max_command, uint64_t max_literal, uint8_t selector) {
  imap::command_framer framer(max_command, max_literal);
  std::vector<event> events;
  std::string buffer;
  uint64_t base = 0;
  size_t from = 0;
  auto pieces = cuts;
  pieces.push_back(stream.size());
  for (size_t to : pieces) {
    buffer.append(stream.substr(from, to - from));
    from = to;
    for (;;) {
      auto f = framer.scan(buffer);
      check(f.length <= buffer.size());
      if (f.what == imap::frame::kind::need_more) {
        if (framer.discarding()) {
          base += buffer.size();
          buffer.clear();
        }
        break;
      }
      bool discarded = f.what == imap::frame::kind::complete && framer.discarding();
      events.push_back({f.what, base + f.length, f.literal_size, discarded});
      if (f.what == imap::frame::kind::continuation) continue;
      check(f.length > 0);
      if (f.what == imap::frame::kind::complete && !discarded) {
        check(f.length <= framer.max_command());
        if (selector != 0) tokenize(std::string_view(buffer).substr(0, f.length), selector);
      }
      base += f.length;
      buffer.erase(0, f.length);
      if (f.what != imap::frame::kind::too_long) framer.reset();
    }
  }
  return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  // Small limits so that too_long, literal_too_big and discarding are reached.
  size_t max_command = 1 + data[0] % 64 * 4;
  uint64_t max_literal = data[1] % 48;
  uint32_t seed = data[2] * 2654435761u + 1;
  std::string_view in(reinterpret_cast<const char*>(data) + 3, size - 3);

  auto whole = drive(in, {}, max_command, max_literal, data[2] | 1);
  uint64_t last = 0;
  for (const auto& e : whole) {
    check(e.end >= last && e.end <= in.size());
    last = e.end;
  }

  std::vector<size_t> cuts;
  for (size_t at = 0;;) {
    seed ^= seed << 13;
    seed ^= seed >> 17;
    seed ^= seed << 5;
    at += seed % 9;  // empty pieces too
    if (at >= in.size()) break;
    cuts.push_back(at);
  }
  check(drive(in, cuts, max_command, max_literal, 0) == whole);

  std::vector<size_t> bytes;
  for (size_t i = 1; i < in.size(); ++i) bytes.push_back(i);
  check(drive(in, bytes, max_command, max_literal, 0) == whole);
  return 0;
}
