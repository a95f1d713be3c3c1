// Transaction-state commands on the maildrop listing: STAT, LIST, UIDL, DELE,
// RSET, NOOP (RFC 1939 §5).
#include <fmt/format.h>

#include "session/pop3/commands.hpp"
#include "session/pop3/message_number.hpp"

namespace postern::session::pop3 {

namespace {

std::pair<size_t, uint64_t> live_totals(const session& s) {
  size_t count = 0;
  uint64_t octets = 0;
  for (auto& m : s.maildrop)
    if (!m.deleted) {
      ++count;
      octets += m.size;
    }
  return {count, octets};
}

// LIST and UIDL share their shape: one message or a multi-line listing. A
// long listing is written out whenever the output budget fills, so 100,000
// messages never sit in memory as one response.
template <class Line>
net::awaitable<void> listing(session& s, const proto::pop3::optional_message_arg& a, Line line) {
  if (a.number) {
    auto* m = find_message(s, *a.number);
    if (m) s.ok(line(*m));
    co_return;
  }
  auto [count, octets] = live_totals(s);
  s.ok(fmt::format("{} messages ({} octets)", count, octets));
  for (size_t i = 0; i < s.maildrop.size(); ++i) {
    if (s.maildrop[i].deleted) continue;
    s.out += line(s.maildrop[i]);
    s.out += "\r\n";
    bool sent = co_await s.flush_if_full();
    if (!sent) {
      s.quit = true;
      co_return;
    }
  }
  s.out += ".\r\n";
}

}  // namespace

net::awaitable<void> cmd_stat(session& s, std::string_view) {
  auto [count, octets] = live_totals(s);
  s.ok(fmt::format("{} {}", count, octets));
  co_return;
}

net::awaitable<void> cmd_list(session& s, const proto::pop3::optional_message_arg& a) {
  auto line = [&](const maildrop_entry& m) {
    return fmt::format("{} {}", &m - s.maildrop.data() + 1, m.size);
  };
  co_await listing(s, a, line);
}

net::awaitable<void> cmd_uidl(session& s, const proto::pop3::optional_message_arg& a) {
  auto line = [&](const maildrop_entry& m) {
    return fmt::format("{} {}", &m - s.maildrop.data() + 1, store::pop3_uidl(s.uidvalidity, m.uid));
  };
  co_await listing(s, a, line);
}

net::awaitable<void> cmd_dele(session& s, const proto::pop3::message_arg& a) {
  auto* m = find_message(s, a.number);
  if (!m) co_return;
  m->deleted = true;
  s.ok(fmt::format("Message {} marked for deletion when you QUIT", a.number));
}

net::awaitable<void> cmd_rset(session& s, std::string_view) {
  for (auto& m : s.maildrop) m.deleted = false;
  auto [count, octets] = live_totals(s);
  s.ok(fmt::format("Maildrop has {} messages ({} octets); no deletions pending", count, octets));
  co_return;
}

net::awaitable<void> cmd_noop(session& s, std::string_view) {
  s.ok("");
  co_return;
}

}  // namespace postern::session::pop3
