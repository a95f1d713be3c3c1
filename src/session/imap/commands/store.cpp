// STORE and UID STORE (RFC 9051 §6.4.6) with CONDSTORE's UNCHANGEDSINCE
// (RFC 7162 §3.1.3): flags change in one transaction and take a new modseq
// only when they really change; other sessions learn of it at their next
// command or at once in IDLE.
#include <fmt/format.h>

#include "net/blocking.hpp"
#include "proto/imap/store_args.hpp"
#include "session/imap/commands.hpp"
#include "session/imap/flags.hpp"
#include "session/imap/sequence.hpp"
#include "session/imap/sync.hpp"

namespace postern::session::imap {

namespace {

net::awaitable<void> store(session& s, std::string_view args, bool by_uid) {
  auto req = proto::imap::parse_store(args);
  if (!req) {
    s.bad(req.error().words);
    co_return;
  }
  auto& sel = *s.selected;
  if (sel.read_only) {
    s.no("[READ-ONLY] The mailbox was opened with EXAMINE");
    co_return;
  }
  auto r = resolve(sel, req->set, by_uid);
  if (!r.error.empty()) {
    s.bad(r.error);
    co_return;
  }
  if (req->unchanged_since) s.condstore = true;
  auto f = split_flag_names(req->flags);
  store::flag_update u;
  u.how = req->how == proto::imap::store_request::op::add      ? store::flag_change::add
          : req->how == proto::imap::store_request::op::remove ? store::flag_change::remove
                                                               : store::flag_change::replace;
  u.flags = f.system;
  u.keywords = std::move(f.keywords);
  u.unchanged_since = req->unchanged_since;
  store::flag_result done;
  if (!r.uids.empty()) {
    auto mb = s.mailbox;
    auto name = sel.name;
    auto uids = r.uids;
    auto run = [mb, name, uids, u] { return mb->store_flags(name, uids, u); };
    auto changed = co_await net::run_blocking(std::move(run));
    if (!changed) {
      s.no(error_reply(s, changed.err()));
      co_return;
    }
    done = std::move(*changed);
  }
  for (auto& m : done.changed) sel.own_changes.emplace_back(m.uid, m.modseq);
  auto& v = *sel.view;
  {
    auto lock = v.reader();
    announce_flags(s, v);
    bool silent = req->silent;
    for (auto uid : r.uids) {
      bool failed =
          std::find(done.modified.begin(), done.modified.end(), uid) != done.modified.end();
      if (failed) continue;
      auto* m = v.find(uid);
      if (!m) continue;
      bool changed_here = false;
      for (auto& c : done.changed) changed_here |= c.uid == uid;
      // RFC 7162 §3.1.3: with CONDSTORE even .SILENT reports the new MODSEQ.
      if (silent && !(s.condstore && changed_here)) continue;
      std::string line = fmt::format("{} FETCH (", sel.seq_of(uid));
      if (by_uid || s.qresync) line += fmt::format("UID {} ", uid);
      if (!silent) line += "FLAGS " + flag_list(v, *m, !s.rev2 && sel.is_recent(uid));
      if (s.condstore) line += fmt::format("{}MODSEQ ({})", silent ? "" : " ", m->modseq);
      line += ')';
      s.untagged(line);
    }
  }
  if (!done.modified.empty()) {
    std::vector<uint32_t> numbers;
    for (auto uid : done.modified) numbers.push_back(by_uid ? uid : sel.seq_of(uid));
    s.ok(fmt::format("[MODIFIED {}] Conditional STORE failed for some messages",
                     compress_set(numbers)));
    co_return;
  }
  s.ok(by_uid ? "UID STORE completed" : "STORE completed");
}

}  // namespace

net::awaitable<void> cmd_store(session& s, std::string_view a) { co_await store(s, a, false); }
net::awaitable<void> cmd_uid_store(session& s, std::string_view a) { co_await store(s, a, true); }

}  // namespace postern::session::imap
