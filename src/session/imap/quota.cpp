#include "session/imap/quota.hpp"

#include <fmt/format.h>

#include "net/blocking.hpp"
#include "proto/imap/response.hpp"
#include "proto/imap/tokenizer.hpp"
#include "session/imap/commands.hpp"

namespace postern::session::imap {

namespace {

struct quota_state {
  uint64_t storage_limit = 0, message_limit = 0;
  store::usage used;
};

net::awaitable<base::result<quota_state>> read_quota(session& s) {
  auto& dir = s.svc.dir;
  auto mb = s.mailbox;
  auto user = s.user;
  auto read = [&dir, mb, user]() -> base::result<quota_state> {
    auto u = dir.find_user(user);
    if (!u) return u.err();
    quota_state q{u->quota_storage, u->quota_messages, {}};
    if (q.storage_limit || q.message_limit) {
      auto used = mb->total_usage();
      if (!used) return used.err();
      q.used = *used;
    }
    return q;
  };
  co_return co_await net::run_blocking(std::move(read));
}

// "(STORAGE 12 2097152 MESSAGE 3 100000)": STORAGE in units of 1024 octets.
std::string resources(const quota_state& q) {
  std::string out;
  if (q.storage_limit)
    out += fmt::format("STORAGE {} {}", (q.used.bytes + 1023) / 1024, q.storage_limit / 1024);
  if (q.message_limit)
    out += fmt::format("{}MESSAGE {} {}", out.empty() ? "" : " ", q.used.messages, q.message_limit);
  return "(" + out + ")";
}

}  // namespace

net::awaitable<std::optional<std::string>> check_quota(session& s, uint64_t bytes,
                                                       uint64_t messages) {
  auto q = co_await read_quota(s);
  if (!q) co_return error_reply(s, q.err());
  if (q->storage_limit && q->used.bytes + bytes > q->storage_limit)
    co_return fmt::format(
        "[OVERQUOTA] {} would be over its storage quota: {} of {} bytes used, {} more asked for",
        s.user, q->used.bytes, q->storage_limit, bytes);
  if (q->message_limit && q->used.messages + messages > q->message_limit)
    co_return fmt::format(
        "[OVERQUOTA] {} would be over its message quota: {} of {} messages, {} more asked for",
        s.user, q->used.messages, q->message_limit, messages);
  co_return std::nullopt;
}

net::awaitable<void> cmd_getquotaroot(session& s, std::string_view args) {
  proto::imap::cursor c(args);
  auto name = c.read_astring("a mailbox name");
  if (!name) {
    s.bad(name.error().words);
    co_return;
  }
  auto q = co_await read_quota(s);
  if (!q) {
    s.no(error_reply(s, q.err()));
    co_return;
  }
  std::string line = "QUOTAROOT ";
  proto::imap::append_string(line, *name, s.utf8_accept);
  line += " \"\"";
  s.untagged(line);
  s.untagged("QUOTA \"\" " + resources(*q));
  s.ok("GETQUOTAROOT completed");
}

net::awaitable<void> cmd_getquota(session& s, std::string_view args) {
  proto::imap::cursor c(args);
  auto root = c.read_astring("a quota root");
  if (!root) {
    s.bad(root.error().words);
    co_return;
  }
  if (!root->empty()) {
    s.no("[NONEXISTENT] The only quota root is \"\"");
    co_return;
  }
  auto q = co_await read_quota(s);
  if (!q) {
    s.no(error_reply(s, q.err()));
    co_return;
  }
  s.untagged("QUOTA \"\" " + resources(*q));
  s.ok("GETQUOTA completed");
}

net::awaitable<void> cmd_setquota(session& s, std::string_view) {
  s.no(
      "[NOPERM] Quotas are set by the administrator: postern user set ADDRESS --quota-storage "
      "SIZE --quota-messages N");
  co_return;
}

}  // namespace postern::session::imap
