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

// Blocking work that reads the user's limits (from the directory, so a
// change applies at once) and, when there are any, the mailbox's usage.
std::function<base::result<quota_state>()> quota_reader(session& s) {
  auto& dir = s.svc.dir;
  auto mb = s.mailbox;
  auto user = s.user;
  return [&dir, mb, user]() -> base::result<quota_state> {
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
}

net::awaitable<base::result<quota_state>> read_quota(session& s) {
  auto read = quota_reader(s);
  co_return co_await net::run_reading(std::move(read));
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

namespace {
std::optional<std::string> refusal(const quota_state& q, const std::string& user, uint64_t bytes,
                                   uint64_t messages) {
  if (q.storage_limit && q.used.bytes + bytes > q.storage_limit)
    return fmt::format(
        "[OVERQUOTA] {} would be over its storage quota: {} of {} bytes used, {} more asked for",
        user, q.used.bytes, q.storage_limit, bytes);
  if (q.message_limit && q.used.messages + messages > q.message_limit)
    return fmt::format(
        "[OVERQUOTA] {} would be over its message quota: {} of {} messages, {} more asked for",
        user, q.used.messages, q.message_limit, messages);
  return std::nullopt;
}
}  // namespace

net::awaitable<std::optional<std::string>> check_quota(session& s, uint64_t bytes,
                                                       uint64_t messages) {
  auto q = co_await read_quota(s);
  if (!q) co_return error_reply(s, q.err());
  co_return refusal(*q, s.user, bytes, messages);
}

quota_work quota_check_work(session& s, uint64_t bytes, uint64_t messages) {
  auto read = quota_reader(s);
  return [read = std::move(read), user = s.user, bytes,
          messages]() -> base::result<std::optional<std::string>> {
    auto q = read();
    if (!q) return q.err();
    return refusal(*q, user, bytes, messages);
  };
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
