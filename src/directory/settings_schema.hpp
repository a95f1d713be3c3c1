// Protocol settings that live in the directory (so every node shares them and
// they change without a restart): their names, kinds, defaults and ranges.
// Names follow Exchange's Set-PopSettings in snake_case.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "base/network.hpp"
#include "policy/budgets.hpp"

namespace postern::directory {

enum class setting_kind { integer, duration, choice, text, networks, endpoints };

// One entry of external_connection_settings (Set-PopSettings
// -ExternalConnectionSettings): how clients outside reach this protocol.
struct external_endpoint {
  std::string host;
  uint16_t port = 0;
  std::string tls;  // "ssl" (implicit TLS), "tls" (STARTTLS) or "none"
};
// "mail.example.com:995:ssl, mail.example.com:110:tls"; nullopt (with the
// bad entry in `bad`) when one is malformed.
std::optional<std::vector<external_endpoint>> parse_endpoints(std::string_view text,
                                                              std::string& bad);

struct setting_spec {
  std::string_view key;
  setting_kind kind;
  std::string_view default_value;
  int64_t min = 0;  // integer and duration (seconds) bounds, inclusive
  int64_t max = 0;
  std::span<const std::string_view> choices;
  std::string_view help;
};

// Protocols that have settings: "pop3", "imap", "lmtp", "submission". Empty
// span for others.
std::span<const setting_spec> settings_for(std::string_view protocol);
const setting_spec* find_setting(std::string_view protocol, std::string_view key);

// Checks a value and returns its normal form ("30m" -> "30min"); the error
// names the protocol, key, value and what is allowed.
base::result<std::string> validate_setting(std::string_view protocol, std::string_view key,
                                           std::string_view value);

// "90s", "30min", "1h", "10" (seconds) -> seconds; nullopt when malformed.
std::optional<int64_t> parse_duration(std::string_view text);

using setting_map = std::map<std::string, std::string, std::less<>>;

enum class login_type { secure, plaintext };

// protocol_log and its bounds, the same keys for every protocol.
struct protocol_log_settings {
  bool enabled = false;
  uint64_t max_file_size = 10ull << 20;
  uint64_t max_directory_size = 100ull << 20;
  std::chrono::seconds max_age{30 * 86400};
};

// The node's health probe of a protocol (admin/health_monitor.hpp).
struct health_settings {
  bool enabled = true;
  std::chrono::seconds interval{30};
  uint32_t failures = 3;
  uint64_t min_free_space = 256ull << 20;
  std::string probe_account;
};
enum class sort_order { ascending, descending };

struct pop3_settings {
  login_type login = login_type::secure;
  std::vector<base::ip_network> secure_networks;
  uint32_t max_connections = 0;
  uint32_t max_connections_from_single_ip = 0;
  uint32_t max_connections_per_user = 0;
  std::chrono::seconds preauthenticated_timeout{0};
  std::chrono::seconds authenticated_timeout{0};
  uint32_t max_command_size = 0;
  sort_order message_sort_order = sort_order::ascending;
  // Failed-login defence (policy/login_defence.hpp).
  std::chrono::seconds login_failure_delay{2};
  std::chrono::seconds login_failure_delay_max{15};
  uint32_t login_block_threshold = 10;
  std::chrono::seconds login_block_window{600};
  std::string banner;
  std::chrono::seconds drain_timeout{60};  // after `component set ... inactive`
  protocol_log_settings log;
  health_settings health;
  policy::budget_settings budget;  // max_concurrency, max_burst, recharge_rate, cutoff_balance
};

struct imap_settings {
  login_type login = login_type::secure;
  std::vector<base::ip_network> secure_networks;
  uint32_t max_connections = 0;
  uint32_t max_connections_from_single_ip = 0;
  uint32_t max_connections_per_user = 0;
  std::chrono::seconds preauthenticated_timeout{0};
  std::chrono::seconds authenticated_timeout{0};
  uint32_t max_command_size = 0;
  uint64_t max_message_size = 0;
  std::chrono::seconds login_failure_delay{2};
  std::chrono::seconds login_failure_delay_max{15};
  uint32_t login_block_threshold = 10;
  std::chrono::seconds login_block_window{600};
  std::string banner;
  std::chrono::seconds drain_timeout{60};  // after `component set ... inactive`
  protocol_log_settings log;
  health_settings health;
  policy::budget_settings budget;  // max_concurrency, max_burst, recharge_rate, cutoff_balance
  bool full_text_index = true;     // the indexer runs and SEARCH reads the index
};

struct lmtp_settings {
  uint64_t max_message_size = 0;
  uint32_t max_recipients = 0;
  uint32_t max_connections = 0;
  std::chrono::seconds timeout{0};
  uint64_t min_data_rate = 1024;  // bytes/s that DATA must average
  std::chrono::seconds drain_timeout{60};
  protocol_log_settings log;
  health_settings health;
};

struct submission_settings {
  login_type login = login_type::secure;
  std::vector<base::ip_network> secure_networks;
  uint32_t max_connections = 0;
  uint32_t max_connections_from_single_ip = 0;
  uint32_t max_connections_per_user = 0;
  std::chrono::seconds preauthenticated_timeout{60};
  std::chrono::seconds authenticated_timeout{300};
  uint64_t max_message_size = 0;
  uint32_t max_recipients = 0;
  uint32_t max_messages_per_hour = 0;
  uint64_t min_data_rate = 1024;
  bool save_sent = false;
  std::chrono::seconds queue_lifetime{5 * 86400};
  std::chrono::seconds delay_warning{4 * 3600};
  std::chrono::seconds login_failure_delay{2};
  std::chrono::seconds login_failure_delay_max{15};
  uint32_t login_block_threshold = 10;
  std::chrono::seconds login_block_window{600};
  std::string banner;
  std::chrono::seconds drain_timeout{60};
  protocol_log_settings log;
  health_settings health;
};

// Stored values override defaults; values are assumed validated.
pop3_settings make_pop3_settings(const setting_map& stored);
imap_settings make_imap_settings(const setting_map& stored);
lmtp_settings make_lmtp_settings(const setting_map& stored);
submission_settings make_submission_settings(const setting_map& stored);

}  // namespace postern::directory
