// COPY and MOVE, by sequence number or UID (RFC 9051 §6.4.7-8, RFC 6851):
// the copies share the message files, and a MOVE is one transaction, so a
// crash leaves the messages either all moved or all where they were.
#include <fmt/format.h>

#include "net/blocking.hpp"
#include "session/imap/commands.hpp"
#include "session/imap/mailbox_name.hpp"
#include "session/imap/quota.hpp"
#include "session/imap/sequence.hpp"

namespace postern::session::imap {

using proto::imap::cursor;

namespace {

net::awaitable<void> copy_or_move(session& s, std::string_view args, bool by_uid, bool move) {
  const char* verb = move ? "MOVE" : "COPY";
  if (move && s.selected->read_only) {
    s.no("[READ-ONLY] The mailbox was opened with EXAMINE");
    co_return;
  }
  cursor c(args);
  auto set = c.read_sequence_set();
  if (!set) {
    s.bad(fmt::format("{}; usage: {} 1:5 Archive", set.error().words, verb));
    co_return;
  }
  if (!c.expect_sp()) {
    s.bad(fmt::format("expected the target mailbox; usage: {} 1:5 Archive", verb));
    co_return;
  }
  auto name = read_mailbox(s, c);
  if (auto* e = std::get_if<name_refusal>(&name)) {
    refuse(s, *e);
    co_return;
  }
  if (!c.at_end()) {
    s.bad("unexpected text after the target mailbox");
    co_return;
  }
  auto r = resolve(*s.selected, *set, by_uid);
  if (!r.error.empty()) {
    s.bad(r.error);
    co_return;
  }
  if (r.uids.empty()) {
    s.ok(fmt::format("{} completed: no messages", verb));
    co_return;
  }
  if (!move) {
    // A copy shares its file but counts toward the quota like any message.
    uint64_t bytes = 0;
    {
      auto lock = s.selected->view->reader();
      for (auto uid : r.uids)
        if (auto* m = s.selected->view->find(uid)) bytes += m->size;
    }
    auto over = co_await check_quota(s, bytes, r.uids.size());
    if (over) {
      s.no(*over);
      co_return;
    }
  }
  auto mb = s.mailbox;
  auto from = s.selected->name;
  auto to = std::get<std::string>(name);
  auto uids = r.uids;
  auto run = [mb, from, uids, to, move] { return mb->copy(from, uids, to, move); };
  auto done = co_await net::run_blocking(std::move(run));
  if (!done) {
    auto e = done.err();
    // RFC 9051 §6.4.7: a missing target gets [TRYCREATE].
    if (e.code == base::errc::not_found)
      s.no(fmt::format("[TRYCREATE] {}", e.message));
    else
      s.no(error_reply(s, e));
    co_return;
  }
  if (done->source_uids.empty()) {
    s.no("[EXPUNGEISSUED] The messages were expunged by another session");
    co_return;
  }
  auto code = fmt::format("COPYUID {} {} {}", done->uidvalidity, compress_set(done->source_uids),
                          compress_set(done->dest_uids));
  if (move) {
    // RFC 6851 §4.3: COPYUID in an untagged OK before the EXPUNGEs.
    s.untagged(fmt::format("OK [{}] Moved", code));
    s.ok(fmt::format("{} completed", verb));
  } else {
    s.ok(fmt::format("[{}] {} completed", code, verb));
  }
}

}  // namespace

net::awaitable<void> cmd_copy(session& s, std::string_view a) {
  co_await copy_or_move(s, a, false, false);
}
net::awaitable<void> cmd_uid_copy(session& s, std::string_view a) {
  co_await copy_or_move(s, a, true, false);
}
net::awaitable<void> cmd_move(session& s, std::string_view a) {
  co_await copy_or_move(s, a, false, true);
}
net::awaitable<void> cmd_uid_move(session& s, std::string_view a) {
  co_await copy_or_move(s, a, true, true);
}

}  // namespace postern::session::imap
