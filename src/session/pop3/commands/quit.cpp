// QUIT (RFC 1939 §6): in the transaction state it enters UPDATE, where the
// marked messages are removed durably before +OK is sent. A connection that
// drops without QUIT removes nothing.
#include <fmt/format.h>

#include "net/blocking.hpp"
#include "observe/log.hpp"
#include "session/pop3/commands.hpp"

namespace postern::session::pop3 {

net::awaitable<void> cmd_quit(session& s, std::string_view) {
  s.quit = true;
  if (s.state != phase::transaction) {
    s.ok("Logging out");
    co_return;
  }
  std::vector<uint32_t> uids;
  for (auto& m : s.maildrop)
    if (m.deleted) uids.push_back(m.uid);
  if (uids.empty()) {
    s.ok("Logging out; no messages deleted");
    co_return;
  }
  auto mailbox = s.mailbox;
  // RFC 1939 §6: +OK says the messages are gone; synced so that even power
  // loss cannot bring them back for the next download.
  auto update = [mailbox, uids = std::move(uids)]() -> base::result<size_t> {
    auto removed = mailbox->expunge("INBOX", uids);
    if (!removed) return removed;
    if (auto s = mailbox->sync(); !s) return s.err();
    return removed;
  };
  auto removed = co_await net::run_blocking(std::move(update));
  if (!removed) {
    observe::log(observe::level::error, "pop3", s.id, "deleting messages of {} failed: {} ({})",
                 s.user, removed.err().message, removed.err().detail);
    s.err(fmt::format("{}; no messages were deleted", error_reply(s, removed.err())));
    co_return;
  }
  observe::log(observe::level::info, "pop3", s.id, "logout {}: {} messages deleted", s.user,
               *removed);
  s.ok(fmt::format("Logging out; {} messages deleted", *removed));
}

}  // namespace postern::session::pop3
