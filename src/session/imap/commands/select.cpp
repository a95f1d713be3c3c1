// Selecting and leaving a folder: SELECT and EXAMINE (RFC 9051 §6.3.2-3,
// with CONDSTORE and QRESYNC parameters, RFC 7162 §3.1.8, §3.2.5), CLOSE,
// UNSELECT (RFC 3691), EXPUNGE and UID EXPUNGE (RFC 4315 §2.1), CHECK.
#include <fmt/format.h>

#include <algorithm>

#include "base/strings.hpp"
#include "net/blocking.hpp"
#include "observe/log.hpp"
#include "proto/imap/response.hpp"
#include "session/imap/commands.hpp"
#include "session/imap/mailbox_name.hpp"
#include "session/imap/sequence.hpp"
#include "session/imap/status.hpp"
#include "session/imap/sync.hpp"

namespace postern::session::imap {

using proto::imap::cursor;

namespace {

struct qresync_params {
  uint32_t uidvalidity = 0;
  uint64_t modseq = 0;
  std::optional<proto::imap::sequence_set> known_uids;
};

net::awaitable<void> open_folder(session& s, std::string_view args, bool read_only) {
  const char* verb = read_only ? "EXAMINE" : "SELECT";
  // RFC 9051 §6.3.2: a failed SELECT leaves no folder selected.
  bool had = s.selected.has_value();
  s.selected.reset();
  if (s.state == phase::selected) s.state = phase::authenticated;
  if (had) s.untagged("OK [CLOSED] Previous mailbox closed");
  cursor c(args);
  auto name = read_mailbox(s, c);
  if (auto* e = std::get_if<name_refusal>(&name)) {
    refuse(s, *e);
    co_return;
  }
  std::optional<qresync_params> qr;
  if (c.skip(' ')) {
    if (!c.expect_open()) {
      s.bad("expected (CONDSTORE) or (QRESYNC (...)) after the mailbox");
      co_return;
    }
    while (!c.skip(')')) {
      auto a = c.read_atom("a SELECT parameter");
      if (!a) {
        s.bad(a.error().words);
        co_return;
      }
      auto p = base::to_upper(*a);
      if (p == "CONDSTORE") {
        s.condstore = true;
      } else if (p == "QRESYNC") {
        if (!s.qresync) {
          s.bad("QRESYNC must be enabled first (ENABLE QRESYNC, RFC 7162 §3.2.3)");
          co_return;
        }
        qresync_params q;
        auto usage = "expected (uidvalidity modseq [known-uids]) after QRESYNC";
        if (!c.expect_sp() || !c.expect_open()) {
          s.bad(usage);
          co_return;
        }
        auto uv = c.read_nz_number("a UIDVALIDITY");
        if (!uv || !c.expect_sp()) {
          s.bad(usage);
          co_return;
        }
        auto ms = c.read_number64("a mod-sequence");
        if (!ms) {
          s.bad(usage);
          co_return;
        }
        q.uidvalidity = *uv;
        q.modseq = *ms;
        if (c.skip(' ') && !c.peek('(')) {
          auto known = c.read_sequence_set("the known UIDs");
          if (!known) {
            s.bad(known.error().words);
            co_return;
          }
          q.known_uids = *known;
        }
        if (c.skip(' ') && c.skip('(')) {
          // The sequence-match data only helps a server without tombstones.
          while (!c.at_end() && !c.peek(')')) c.skip(c.rest().front());
          c.skip(')');
        }
        if (!c.expect_close()) {
          s.bad("expected ) after the QRESYNC parameters");
          co_return;
        }
        qr = q;
      } else {
        s.bad(fmt::format("unknown SELECT parameter {}", base::printable(*a)));
        co_return;
      }
      c.skip(' ');
    }
  }
  auto n = std::get<std::string>(name);
  auto mb = s.mailbox;
  auto view = co_await folder_view_of(s, n);
  if (!view) {
    s.no(error_reply(s, view.err()));
    co_return;
  }
  std::vector<uint32_t> vanished;
  if (qr && qr->uidvalidity == (*view)->uidvalidity) {
    auto since = qr->modseq;
    auto read = [mb, n, since] { return mb->expunged_since(n, since); };
    auto gone = co_await net::run_reading(std::move(read));
    if (gone) vanished = std::move(*gone);
  }
  uint32_t claimed = 0;  // \Recent claimed up to here, to be saved
  selected_folder sel;
  sel.view = *view;
  sel.name = n;
  sel.read_only = read_only;
  auto& v = *sel.view;
  {
    auto lock = v.reader();
    sel.uids.reserve(v.messages.size());
    for (auto& m : v.messages) sel.uids.push_back(m.uid);
    sel.seen_modseq = v.highestmodseq;
    sel.expunge_cursor = v.expunged.size();
    sel.known_keywords = v.keywords.size();
    // \Recent (RFC 3501 §2.3.2): SELECT claims what no session saw yet;
    // EXAMINE only looks (§6.3.2: it must not clear \Recent).
    uint32_t upto = v.uidnext > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(v.uidnext);
    if (read_only) {
      sel.recent.emplace_back(v.recent_uid.load(), UINT32_MAX);
    } else {
      uint32_t old = v.claim_recent(upto);
      if (old < upto) {
        sel.recent.emplace_back(old, upto);
        claimed = upto;
      }
    }
    s.untagged(fmt::format("{} EXISTS", sel.uids.size()));
    sel.reported_recent = sel.recent_count();
    if (!s.rev2) s.untagged(fmt::format("{} RECENT", sel.reported_recent));
    s.untagged(fmt::format("FLAGS ({})", defined_flags(v)));
    s.untagged(fmt::format("OK [PERMANENTFLAGS ({}{})] Flags permitted",
                           read_only ? "" : defined_flags(v), read_only ? "" : " \\*"));
    if (!s.rev2) {
      for (size_t i = 0; i < v.messages.size(); ++i)
        if (!(v.messages[i].flags & store::flag_seen)) {
          s.untagged(fmt::format("OK [UNSEEN {}] First unseen message", i + 1));
          break;
        }
    }
    s.untagged(fmt::format("OK [UIDVALIDITY {}] UIDs valid", v.uidvalidity));
    s.untagged(fmt::format("OK [UIDNEXT {}] Predicted next UID", v.uidnext));
    s.untagged(fmt::format("OK [HIGHESTMODSEQ {}] Highest", v.highestmodseq));
    s.untagged(fmt::format("OK [MAILBOXID ({})] Ok", mailbox_id(v)));
    if (qr && qr->uidvalidity == v.uidvalidity) {
      // RFC 7162 §3.2.5.2: what vanished and what changed since the client's modseq.
      if (qr->known_uids) {
        auto known = proto::imap::normalize(*qr->known_uids, UINT32_MAX - 1);
        std::erase_if(vanished, [&](uint32_t u) {
          for (auto& r : known)
            if (u >= r.first && u <= r.last) return false;
          return true;
        });
      }
      if (!vanished.empty())
        s.untagged(fmt::format("VANISHED (EARLIER) {}", compress_set(vanished)));
      for (size_t i = 0; i < v.messages.size(); ++i) {
        auto& m = v.messages[i];
        if (m.modseq <= qr->modseq) continue;
        s.untagged(fmt::format("{} FETCH (UID {} FLAGS {} MODSEQ ({}))", i + 1, m.uid,
                               flag_list(v, m, !s.rev2 && sel.is_recent(m.uid)), m.modseq));
      }
    }
  }
  s.selected = std::move(sel);
  s.state = phase::selected;
  // The claim is already in the view, which every session of this node
  // shares; the index keeps it for later processes. Best effort, and not
  // awaited: \Recent is advisory (RFC 3501 §2.3.2) and the saved value only
  // grows (max), so the order of two saves does not matter.
  if (claimed) {
    auto save = [mb, n, claimed, id = s.id] {
      if (auto st = mb->save_recent(n, claimed); !st)
        observe::log(observe::level::warning, "imap", id,
                     "\\Recent of {} not saved (it is kept in memory while the node runs): {}", n,
                     st.err().message);
    };
    net::run_detached(std::move(save));
  }
  s.ok(fmt::format("[{}] {} completed", read_only ? "READ-ONLY" : "READ-WRITE", verb));
}

// Expunges this session's \Deleted messages (all, or those in `only`).
net::awaitable<bool> expunge_deleted(session& s, const std::vector<uint32_t>* only) {
  auto& sel = *s.selected;
  std::vector<uint32_t> doomed;
  {
    auto lock = sel.view->reader();
    for (auto uid : only ? *only : sel.uids) {
      auto* m = sel.view->find(uid);
      if (m && (m->flags & store::flag_deleted)) doomed.push_back(uid);
    }
  }
  if (doomed.empty()) co_return true;
  auto mb = s.mailbox;
  auto n = sel.name;
  auto run = [mb, n, doomed] { return mb->expunge(n, doomed); };
  auto r = co_await net::run_blocking(std::move(run));
  if (!r) {
    s.no(error_reply(s, r.err()));
    co_return false;
  }
  co_return true;
}

}  // namespace

net::awaitable<void> cmd_select(session& s, std::string_view args) {
  co_await open_folder(s, args, false);
}
net::awaitable<void> cmd_examine(session& s, std::string_view args) {
  co_await open_folder(s, args, true);
}

net::awaitable<void> cmd_close(session& s, std::string_view) {
  if (!s.selected->read_only) {
    bool done = co_await expunge_deleted(s, nullptr);
    if (!done) co_return;
  }
  // RFC 9051 §6.4.1: no untagged EXPUNGE for CLOSE.
  s.selected.reset();
  s.state = phase::authenticated;
  s.ok("CLOSE completed");
}

net::awaitable<void> cmd_unselect(session& s, std::string_view) {
  s.selected.reset();
  s.state = phase::authenticated;
  s.ok("UNSELECT completed");
  co_return;
}

net::awaitable<void> cmd_expunge(session& s, std::string_view) {
  if (s.selected->read_only) {
    s.no("[READ-ONLY] The mailbox was opened with EXAMINE");
    co_return;
  }
  bool done = co_await expunge_deleted(s, nullptr);
  if (done) s.ok("EXPUNGE completed");
}

net::awaitable<void> cmd_uid_expunge(session& s, std::string_view args) {
  if (s.selected->read_only) {
    s.no("[READ-ONLY] The mailbox was opened with EXAMINE");
    co_return;
  }
  cursor c(args);
  auto set = c.read_sequence_set("a UID set");
  if (!set || !c.at_end()) {
    s.bad("expected a UID set; usage: UID EXPUNGE 1:5");
    co_return;
  }
  auto r = resolve(*s.selected, *set, true);
  bool done = co_await expunge_deleted(s, &r.uids);
  if (done) s.ok("UID EXPUNGE completed");
}

}  // namespace postern::session::imap
