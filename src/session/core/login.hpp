// The pre-login engine shared by POP3, IMAP and submission: the login policy
// (login_type and secure_networks), password verification off the I/O
// threads, the failed-login defence (a growing pause per failure and a
// temporary refusal of a guessing address) and the per-user connection limit.
// Every refusal is logged once with its reason and the client's address.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/network.hpp"
#include "directory/directory.hpp"
#include "directory/settings_schema.hpp"
#include "net/connection.hpp"
#include "policy/connection_registry.hpp"
#include "policy/login_defence.hpp"
#include "session/core/session_base.hpp"

namespace postern::session::core {

// RFC 2595 §4, RFC 3501 §6.2.3: may a plaintext password be sent on this
// connection now? Yes over TLS, with login_type = plaintext, or from a
// network the administrator declared secure.
bool plaintext_login_allowed(const net::connection& conn, directory::login_type login,
                             const std::vector<base::ip_network>& secure_networks);

struct login_limits {
  uint32_t max_connections_per_user = 0;
  // The protocol's throttling budget; nullptr: none.
  const policy::budget_settings* budget = nullptr;
  policy::login_defence_settings defence;
};

struct login_outcome {
  enum class kind {
    ok,          // user and lease are set
    failed,      // unknown user or wrong password (never says which); already paused
    blocked,     // the address is refused for a while: message says until when
    user_limit,  // max_connections_per_user: message names the user and the limit
    disabled,    // the password was right but this protocol is off for the mailbox: message says so
    throttled,   // the user's budget is below cutoff_balance: message says until when
    unavailable,  // the directory failed: error says why
  } what = kind::failed;
  directory::user_record user;
  policy::lease lease;
  std::shared_ptr<policy::budget_account> budget;  // ok: the user's budget, when throttled
  std::string message;
  base::error error{base::errc::unavailable, "", ""};
};

// The response code a refused login gets in `protocol` (RFC 2449/3206 for
// POP3, RFC 5530 for IMAP, RFC 3463 enhanced codes for submission): the
// replies and the log lines' CODE field both take it from here.
std::string_view refusal_code(std::string_view protocol, login_outcome::kind k);

// Verifies `name`/`password` for the session's protocol, applying the
// defence and the per-user limit. Logs the outcome.
net::awaitable<login_outcome> log_in(session_base& s, std::string_view name, std::string password,
                                     const login_limits& limits);

}  // namespace postern::session::core
