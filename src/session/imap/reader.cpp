#include "session/imap/reader.hpp"

#include "base/strings.hpp"
#include "proto/imap/tokenizer.hpp"
#include "session/imap/state.hpp"

namespace postern::session::imap {

std::optional<literal_marker> trailing_literal(std::string_view line) {
  if (line.empty() || line.back() != '}') return std::nullopt;
  size_t open = line.rfind('{');
  if (open == std::string_view::npos) return std::nullopt;
  auto inside = line.substr(open + 1, line.size() - open - 2);
  literal_marker m;
  if (!inside.empty() && inside.back() == '+') {
    m.sync = false;
    inside.remove_suffix(1);
  }
  if (inside.empty() || inside.size() > 19) return std::nullopt;
  for (char c : inside)
    if (c < '0' || c > '9') return std::nullopt;
  auto n = base::parse_u64(inside);
  if (!n) return std::nullopt;
  m.size = *n;
  m.binary = open > 0 && line[open - 1] == '~';
  m.length = line.size() - open + (m.binary ? 1 : 0);
  return m;
}

std::string tag_of(std::string_view text) {
  proto::imap::cursor c(text);
  auto t = c.read_tag();
  if (!t) return "*";
  return std::string(*t);
}

namespace {
// "tag APPEND mailbox ..." with something after the mailbox: the literal
// that ends this line is a message (RFC 9051 §6.3.12), not the mailbox name.
// REPLACE (RFC 8508) carries one too, after its sequence number or UID.
bool is_append_message(std::string_view before_marker) {
  proto::imap::cursor c(before_marker);
  if (!c.read_tag() || !c.expect_sp()) return false;
  auto verb = c.read_atom();
  if (!verb) return false;
  if (base::iequals(*verb, "UID")) {
    if (!c.expect_sp()) return false;
    verb = c.read_atom();
    if (!verb || !base::iequals(*verb, "REPLACE")) return false;
  }
  bool replace = base::iequals(*verb, "REPLACE");
  if ((!replace && !base::iequals(*verb, "APPEND")) || !c.expect_sp()) return false;
  if (replace && (!c.read_sequence_set() || !c.expect_sp())) return false;
  if (!c.read_astring()) return false;
  return !c.at_end();
}
}  // namespace

net::awaitable<bool> read_literal_into(session& s, uint64_t n, std::string& out) {
  auto& conn = *s.conn;
  auto deadline = net::connection::clock::now() + conn.timeout();
  while (n > 0) {
    std::string_view chunk;
    auto st = co_await conn.read_some(chunk, deadline);
    if (st != net::read_status::ok) co_return false;
    size_t take = static_cast<size_t>(std::min<uint64_t>(n, chunk.size()));
    out.append(chunk.substr(0, take));
    if (take < chunk.size()) conn.unread(chunk.size() - take);
    n -= take;
  }
  co_return true;
}

namespace {
// RFC 2971 §3.3 allows ID 30 fields of 1024 octets; such a command may pass
// max_command_size, and only ID may.
constexpr size_t id_command_max = 40 * 1024;

bool is_id_command(std::string_view line) {
  proto::imap::cursor c(line);
  if (!c.read_tag() || !c.expect_sp()) return false;
  auto verb = c.read_atom();
  return verb && base::iequals(*verb, "ID");
}
}  // namespace

net::awaitable<command_input> read_command(session& s) {
  auto& conn = *s.conn;
  size_t budget = s.settings->max_command_size;
  command_input in;
  std::string line;
  for (;;) {
    size_t room = budget > in.text.size() ? budget - in.text.size() : 0;
    if (room < 3) {
      in.what = command_input::kind::too_long;
      co_return in;
    }
    bool first = in.text.empty();
    if (first) room = std::max(room, id_command_max);
    auto st = co_await conn.read_line(line, room);
    switch (st) {
      case net::read_status::ok:
        break;
      case net::read_status::too_long:
        in.what = command_input::kind::too_long;
        co_return in;
      case net::read_status::timed_out:
        in.what = command_input::kind::timed_out;
        co_return in;
      case net::read_status::interrupted:
        in.what = command_input::kind::interrupted;
        co_return in;
      default:
        in.what = command_input::kind::closed;
        co_return in;
    }
    if (first && line.size() + 2 > budget) {
      if (!is_id_command(line)) {
        in.text = line.substr(0, 64);  // enough for the tag of the BAD
        in.what = command_input::kind::too_long;
        co_return in;
      }
      budget = id_command_max;
    }
    auto marker = trailing_literal(line);
    if (!marker) {
      in.text += line;
      in.what = command_input::kind::command;
      co_return in;
    }
    std::string_view before(line.data(), line.size() - marker->length);
    if (is_append_message(in.text + std::string(before))) {
      in.text += before;
      in.literal = *marker;
      in.what = command_input::kind::append_literal;
      co_return in;
    }
    in.text += line;
    in.text += "\r\n";
    if (marker->size + in.text.size() + 2 > budget) {
      in.literal = *marker;
      in.what =
          marker->sync ? command_input::kind::literal_too_big : command_input::kind::fatal_literal;
      co_return in;
    }
    if (marker->sync) {
      s.out += "+ Ready for literal data\r\n";
      bool sent = co_await s.flush();
      if (!sent) {
        in.what = command_input::kind::closed;
        co_return in;
      }
    }
    bool got = co_await read_literal_into(s, marker->size, in.text);
    if (!got) {
      in.what = conn.timed_out() ? command_input::kind::timed_out : command_input::kind::closed;
      co_return in;
    }
  }
}

}  // namespace postern::session::imap
