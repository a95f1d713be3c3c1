// What a session needs from the node: directory, store, live settings, the
// connection registry, the failed-login defence and facts about the node's
// listeners.
#pragma once

#include <cstdint>
#include <string>

#include "directory/component_view.hpp"
#include "directory/credential_cache.hpp"
#include "directory/directory.hpp"
#include "directory/live_settings.hpp"
#include "directory/user_cache.hpp"
#include "observe/metrics.hpp"
#include "policy/budgets.hpp"
#include "policy/connection_registry.hpp"
#include "policy/login_defence.hpp"
#include "policy/send_rate.hpp"
#include "session/core/observer.hpp"
#include "session/core/session_table.hpp"
#include "store/store.hpp"

namespace postern::queue {
class queue_store;
class relay_worker;
}  // namespace postern::queue

namespace postern::session {

struct services {
  directory::directory& dir;
  store::store& mail;
  directory::live_settings& settings;
  directory::credential_cache& credentials;
  policy::connection_registry& registry;
  policy::login_defence& defence;
  directory::user_cache& users;  // RCPT hints; see user_cache.hpp
  std::string hostname;
  uint16_t pop3s_port = 0;  // implicit-TLS POP3 port, named in login_type=secure refusals
  // Where every command is reported (protocol log, metrics, budgets plug in
  // here); nullptr means the default debug-log observer.
  session::core::command_observer* observer = nullptr;
  // The node's live sessions (`postern session list|kill`); nullptr in tests
  // that do not look at them.
  session::core::session_table* sessions = nullptr;
  // Component states (`postern component set`); nullptr: always active.
  directory::component_view* components = nullptr;
  // Counters for GET /metrics; nullptr: not counted.
  observe::metrics* metrics = nullptr;
  // Per-user throttling budgets (max_concurrency, max_burst, recharge_rate,
  // cutoff_balance); nullptr: nobody is throttled.
  policy::budgets* budgets = nullptr;
  // Submission's max_messages_per_hour; nullptr: not limited.
  policy::send_rate* send_rate = nullptr;
  // The outbound queue and its relay ([relay] in postern.toml); nullptr:
  // no relay, so submission refuses remote recipients and says why.
  queue::queue_store* queue = nullptr;
  queue::relay_worker* relay = nullptr;
};

}  // namespace postern::session
