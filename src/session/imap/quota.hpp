// QUOTA (RFC 9208): one quota root, "", per user, with the STORAGE and
// MESSAGE limits the administrator set (`postern user set ADDRESS
// --quota-storage 2G --quota-messages 100000`), read from the directory at
// each check so a change applies at once.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "session/imap/state.hpp"

namespace postern::session::imap {

// nullopt when `bytes` more in `messages` more messages fit; else the
// refusal ("[OVERQUOTA] ...").
net::awaitable<std::optional<std::string>> check_quota(session& s, uint64_t bytes,
                                                       uint64_t messages);

// The same check as work for the blocking pool, so that APPEND makes it in
// the call that stores the message (one thread-pool round trip, not two).
// The refusal text, nullopt, or the store's error (for error_reply()).
using quota_work = std::function<base::result<std::optional<std::string>>()>;
quota_work quota_check_work(session& s, uint64_t bytes, uint64_t messages);

}  // namespace postern::session::imap
