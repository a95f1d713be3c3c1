#include "directory/settings_schema.hpp"

#include <fmt/format.h>

#include <array>
#include <cctype>

#include "base/strings.hpp"

namespace postern::directory {

namespace {

constexpr std::string_view login_types[] = {"secure", "plaintext"};
constexpr std::string_view sort_orders[] = {"ascending", "descending"};
constexpr std::string_view on_off[] = {"on", "off"};
constexpr int64_t unlimited = 1000000;

// Exchange's ranges where it has them (MaxCommandSize 40-1024, timeouts).
constexpr setting_spec pop3_specs[] = {
    {"login_type", setting_kind::choice, "secure", 0, 0, login_types,
     "secure: USER, PASS and AUTH only after TLS (STLS or the implicit-TLS port); "
     "plaintext: allowed on any connection"},
    {"secure_networks",
     setting_kind::networks,
     "",
     0,
     0,
     {},
     "networks whose plaintext connections count as secure for login_type=secure "
     "(CIDR list, e.g. 127.0.0.0/8, 10.1.0.0/16)"},
    {"max_connections",
     setting_kind::integer,
     "10000",
     1,
     unlimited,
     {},
     "POP3 connections this node accepts at once"},
    {"max_connections_from_single_ip",
     setting_kind::integer,
     "10000",
     1,
     unlimited,
     {},
     "POP3 connections one client address may hold at once"},
    {"max_connections_per_user",
     setting_kind::integer,
     "16",
     1,
     unlimited,
     {},
     "authenticated POP3 connections one user may hold at once"},
    {"preauthenticated_timeout",
     setting_kind::duration,
     "60s",
     10,
     3600,
     {},
     "idle time allowed before login"},
    {"authenticated_timeout",
     setting_kind::duration,
     "30min",
     30,
     86400,
     {},
     "idle time allowed after login"},
    {"max_command_size",
     setting_kind::integer,
     "512",
     40,
     1024,
     {},
     "longest command line in bytes, CRLF included"},
    {"message_sort_order", setting_kind::choice, "ascending", 0, 0, sort_orders,
     "order of the maildrop: ascending (oldest first) or descending (newest first)"},
    {"login_failure_delay",
     setting_kind::duration,
     "2s",
     0,
     60,
     {},
     "pause before answering the first failed login from an address or for an account; it "
     "doubles with each further failure (0s: no pause)"},
    {"login_failure_delay_max",
     setting_kind::duration,
     "15s",
     0,
     300,
     {},
     "longest pause after a failed login"},
    {"login_block_threshold",
     setting_kind::integer,
     "10",
     0,
     unlimited,
     {},
     "failed logins from one address within login_block_window after which that address is "
     "refused until they age out (0: never)"},
    {"login_block_window",
     setting_kind::duration,
     "10min",
     10,
     86400,
     {},
     "how long a failed login counts toward login_block_threshold"},
    {"banner",
     setting_kind::text,
     "Postern POP3 service ready",
     0,
     200,
     {},
     "greeting text after +OK"},
};

// IMAP4 as Exchange's Set-ImapSettings: the same policy keys as POP3;
// commands up to 16 KiB; never an idle timeout below RFC 9051 §5.4's
// 29 minutes once logged in, so IDLE clients are not cut off.
constexpr setting_spec imap_specs[] = {
    {"login_type", setting_kind::choice, "secure", 0, 0, login_types,
     "secure: LOGIN and AUTHENTICATE only after TLS (STARTTLS or the implicit-TLS port), "
     "LOGINDISABLED advertised before; plaintext: allowed on any connection"},
    {"secure_networks",
     setting_kind::networks,
     "",
     0,
     0,
     {},
     "networks whose plaintext connections count as secure for login_type=secure "
     "(CIDR list, e.g. 127.0.0.0/8, 10.1.0.0/16)"},
    {"max_connections",
     setting_kind::integer,
     "10000",
     1,
     unlimited,
     {},
     "IMAP connections this node accepts at once"},
    {"max_connections_from_single_ip",
     setting_kind::integer,
     "10000",
     1,
     unlimited,
     {},
     "IMAP connections one client address may hold at once"},
    {"max_connections_per_user",
     setting_kind::integer,
     "16",
     1,
     unlimited,
     {},
     "authenticated IMAP connections one user may hold at once"},
    {"preauthenticated_timeout",
     setting_kind::duration,
     "60s",
     10,
     3600,
     {},
     "idle time allowed before login"},
    {"authenticated_timeout",
     setting_kind::duration,
     "30min",
     1740,
     86400,
     {},
     "idle time allowed after login (at least 29min: RFC 9051 §5.4, IDLE)"},
    {"max_command_size",
     setting_kind::integer,
     "10240",
     1024,
     16384,
     {},
     "longest command in bytes, CRLF included, literals other than APPEND's message counted"},
    {"max_message_size",
     setting_kind::integer,
     "52428800",
     1024,
     1073741824,
     {},
     "largest message APPEND accepts, in bytes (advertised as APPENDLIMIT)"},
    {"login_failure_delay",
     setting_kind::duration,
     "2s",
     0,
     60,
     {},
     "pause before answering the first failed login from an address or for an account; it "
     "doubles with each further failure (0s: no pause)"},
    {"login_failure_delay_max",
     setting_kind::duration,
     "15s",
     0,
     300,
     {},
     "longest pause after a failed login"},
    {"login_block_threshold",
     setting_kind::integer,
     "10",
     0,
     unlimited,
     {},
     "failed logins from one address within login_block_window after which that address is "
     "refused until they age out (0: never)"},
    {"login_block_window",
     setting_kind::duration,
     "10min",
     10,
     86400,
     {},
     "how long a failed login counts toward login_block_threshold"},
    {"banner",
     setting_kind::text,
     "Postern IMAP service ready",
     0,
     200,
     {},
     "greeting text after * OK"},
    {"full_text_index", setting_kind::choice, "on", 0, 0, on_off,
     "on: messages are taken into their mailbox's full-text index after delivery, and "
     "SEARCH text keys read the index; off: the indexer pauses and SEARCH reads each message"},
};

constexpr setting_spec lmtp_specs[] = {
    {"max_message_size",
     setting_kind::integer,
     "52428800",
     1024,
     2147483647,
     {},
     "largest message accepted, in bytes (SIZE, RFC 1870)"},
    {"max_recipients",
     setting_kind::integer,
     "500",
     1,
     100000,
     {},
     "RCPT TO commands accepted per transaction"},
    {"max_connections",
     setting_kind::integer,
     "1000",
     1,
     unlimited,
     {},
     "LMTP connections this node accepts at once"},
    {"timeout",
     setting_kind::duration,
     "5min",
     10,
     3600,
     {},
     "idle time allowed between commands, and the time one command line may take"},
    {"min_data_rate",
     setting_kind::integer,
     "1024",
     1,
     1073741824,
     {},
     "bytes per second DATA must average: a message may take timeout + size / min_data_rate"},
};

// SMTP submission (RFC 6409) for POP3 and IMAP clients: the login policy of
// POP3 and IMAP, and the message limits of LMTP with per-user ones.
constexpr setting_spec submission_specs[] = {
    {"login_type", setting_kind::choice, "secure", 0, 0, login_types,
     "secure: AUTH offered and accepted only after TLS (STARTTLS or the implicit-TLS port); "
     "plaintext: on any connection"},
    {"secure_networks",
     setting_kind::networks,
     "",
     0,
     0,
     {},
     "networks whose plaintext connections count as secure for login_type=secure "
     "(CIDR list, e.g. 127.0.0.0/8, 10.1.0.0/16)"},
    {"max_connections",
     setting_kind::integer,
     "10000",
     1,
     unlimited,
     {},
     "submission connections this node accepts at once"},
    {"max_connections_from_single_ip",
     setting_kind::integer,
     "10000",
     1,
     unlimited,
     {},
     "submission connections one client address may hold at once"},
    {"max_connections_per_user",
     setting_kind::integer,
     "16",
     1,
     unlimited,
     {},
     "authenticated submission connections one user may hold at once"},
    {"preauthenticated_timeout",
     setting_kind::duration,
     "60s",
     10,
     3600,
     {},
     "idle time allowed before AUTH"},
    {"authenticated_timeout",
     setting_kind::duration,
     "5min",
     30,
     3600,
     {},
     "idle time allowed after AUTH (RFC 5321 §4.5.3.2 asks for at least 5 minutes)"},
    {"max_message_size",
     setting_kind::integer,
     "36700160",
     1024,
     1073741824,
     {},
     "largest message in bytes (announced as SIZE)"},
    {"max_recipients",
     setting_kind::integer,
     "500",
     1,
     100000,
     {},
     "recipients one message may have"},
    {"max_messages_per_hour",
     setting_kind::integer,
     "1000",
     1,
     unlimited,
     {},
     "messages one user may send per hour; past it MAIL is refused with 451 4.7.0 and when "
     "to try again"},
    {"min_data_rate",
     setting_kind::integer,
     "1024",
     0,
     1073741824,
     {},
     "bytes per second DATA must average after the authenticated_timeout's allowance"},
    {"queue_lifetime",
     setting_kind::duration,
     "5d",
     1,
     30 * 86400,
     {},
     "how long the outbound queue retries a message it cannot relay before it bounces it to "
     "the sender"},
    {"delay_warning",
     setting_kind::duration,
     "4h",
     1,
     30 * 86400,
     {},
     "how long a message waits in the outbound queue before its sender is told it is delayed"},
    {"save_sent", setting_kind::choice, "off", 0, 0, on_off,
     "on: a copy of each message goes to the sender's Sent folder (most clients save it "
     "themselves with APPEND)"},
    {"login_failure_delay",
     setting_kind::duration,
     "2s",
     0,
     60,
     {},
     "pause before answering the first failed AUTH from an address or for an account; it "
     "doubles with each further failure (0s: no pause)"},
    {"login_failure_delay_max",
     setting_kind::duration,
     "15s",
     0,
     300,
     {},
     "longest pause after a failed AUTH"},
    {"login_block_threshold",
     setting_kind::integer,
     "10",
     0,
     unlimited,
     {},
     "failed logins from one address within login_block_window after which that address is "
     "refused until they age out (0: never)"},
    {"login_block_window",
     setting_kind::duration,
     "10min",
     10,
     86400,
     {},
     "how long a failed login counts toward login_block_threshold"},
    {"banner",
     setting_kind::text,
     "Postern ESMTP submission ready",
     0,
     200,
     {},
     "greeting text after 220 and the host name"},
};

// The operational keys every protocol has: its protocol log, how long
// sessions may go on after its component is set inactive, and its health probe.
constexpr setting_spec operations_specs[] = {
    {"external_connection_settings",
     setting_kind::endpoints,
     "",
     0,
     0,
     {},
     "how clients reach this protocol from outside: host:port:ssl|tls|none, comma-separated "
     "(postern cert checks the certificate names these hosts; postern test --external tries "
     "them)"},
    {"health_probe", setting_kind::choice, "on", 0, 0, on_off,
     "on: the node checks this protocol every health_probe_interval (directory, store "
     "writable, free space, the probe account's INBOX, the listener's greeting) and sets the "
     "component inactive for requester health after health_failures failures in a row, "
     "active again once a probe passes"},
    {"health_probe_interval",
     setting_kind::duration,
     "30s",
     1,
     3600,
     {},
     "time between two health probes of this protocol"},
    {"health_failures",
     setting_kind::integer,
     "3",
     1,
     100,
     {},
     "failed health probes in a row that take the component out of service"},
    {"health_min_free_space",
     setting_kind::integer,
     "268435456",
     0,
     1152921504606846976,
     {},
     "bytes that must stay free under data_dir for a health probe to pass"},
    {"health_probe_account",
     setting_kind::text,
     "",
     0,
     254,
     {},
     "a mailbox the probe opens (its INBOX, as STAT or SELECT would); with it set, the probe "
     "also connects to this node's listener and reads its greeting and capabilities"},
    {"protocol_log", setting_kind::choice, "off", 0, 0, on_off,
     "on: one CSV line per command in data_dir/logs/PROTOCOL/ (Exchange's protocol log "
     "fields; passwords as *****); read them with postern log search"},
    {"protocol_log_max_file_size",
     setting_kind::integer,
     "10485760",
     65536,
     1073741824,
     {},
     "bytes a protocol log file may reach before the next one starts (they also roll daily)"},
    {"protocol_log_max_directory_size",
     setting_kind::integer,
     "104857600",
     1048576,
     107374182400,
     {},
     "bytes the protocol's log folder may hold; the oldest files are removed past it"},
    {"protocol_log_max_age",
     setting_kind::duration,
     "30d",
     3600,
     31536000,
     {},
     "log files older than this are removed"},
    {"drain_timeout",
     setting_kind::duration,
     "60s",
     0,
     86400,
     {},
     "how long open sessions may go on after the component is set inactive (postern "
     "component set); then they are told why and closed"},
};

// A user's throttling budget (policy/budgets.hpp), Exchange's four knobs of
// the same names, for the protocols users log in to.
constexpr setting_spec budget_specs[] = {
    {"max_concurrency",
     setting_kind::integer,
     "20",
     1,
     10000,
     {},
     "commands of one user that may run at once (throttling budget); one more waits up to 5 s "
     "for a slot, then is refused"},
    {"max_burst",
     setting_kind::integer,
     "300000",
     1,
     86400000,
     {},
     "milliseconds of server time a user's budget holds when full (throttling budget): what "
     "a user may spend at once before commands are delayed"},
    {"recharge_rate",
     setting_kind::integer,
     "900000",
     1,
     360000000,
     {},
     "milliseconds of server time a user's budget regains per hour (throttling budget)"},
    {"cutoff_balance",
     setting_kind::integer,
     "600000",
     0,
     86400000,
     {},
     "how far (milliseconds) a budget may fall below zero before the user's commands and "
     "logins are refused until it recharges to zero (throttling budget)"},
};

template <size_t N, size_t M>
constexpr std::array<setting_spec, N + M> joined(const std::array<setting_spec, N>& a,
                                                 const setting_spec (&b)[M]) {
  std::array<setting_spec, N + M> out{};
  for (size_t i = 0; i < N; ++i) out[i] = a[i];
  for (size_t i = 0; i < M; ++i) out[N + i] = b[i];
  return out;
}
template <size_t N>
constexpr std::array<setting_spec, N> as_array(const setting_spec (&a)[N]) {
  std::array<setting_spec, N> out{};
  for (size_t i = 0; i < N; ++i) out[i] = a[i];
  return out;
}

constexpr auto pop3_all = joined(joined(as_array(pop3_specs), budget_specs), operations_specs);
constexpr auto imap_all = joined(joined(as_array(imap_specs), budget_specs), operations_specs);
constexpr auto lmtp_all = joined(as_array(lmtp_specs), operations_specs);
constexpr auto submission_all = joined(as_array(submission_specs), operations_specs);

std::string format_duration(int64_t s) {
  if (s % 86400 == 0 && s >= 86400) return fmt::format("{}d", s / 86400);
  if (s % 3600 == 0) return fmt::format("{}h", s / 3600);
  if (s % 60 == 0 && s >= 120) return fmt::format("{}min", s / 60);
  return fmt::format("{}s", s);
}

std::string value_of(const setting_map& stored, std::string_view protocol, std::string_view key) {
  if (auto it = stored.find(key); it != stored.end()) return it->second;
  return std::string(find_setting(protocol, key)->default_value);
}

int64_t integer_of(const setting_map& m, std::string_view p, std::string_view k) {
  return static_cast<int64_t>(base::parse_u64(value_of(m, p, k)).value_or(0));
}

std::chrono::seconds duration_of(const setting_map& m, std::string_view p, std::string_view k) {
  return std::chrono::seconds(parse_duration(value_of(m, p, k)).value_or(60));
}

}  // namespace

std::optional<int64_t> parse_duration(std::string_view v) {
  v = base::trim(v);
  size_t digits = 0;
  while (digits < v.size() && v[digits] >= '0' && v[digits] <= '9') ++digits;
  auto n = base::parse_u64(v.substr(0, digits));
  // Far beyond any allowed range; refusing here keeps the multiplication below
  // from overflowing (found by fuzz/fuzz_settings).
  if (!n || *n > 1'000'000'000) return std::nullopt;
  auto unit = base::to_lower(v.substr(digits));
  if (unit.empty() || unit == "s" || unit == "sec") return static_cast<int64_t>(*n);
  if (unit == "m" || unit == "min") return static_cast<int64_t>(*n) * 60;
  if (unit == "h") return static_cast<int64_t>(*n) * 3600;
  if (unit == "d" || unit == "day" || unit == "days") return static_cast<int64_t>(*n) * 86400;
  return std::nullopt;
}

std::optional<std::vector<external_endpoint>> parse_endpoints(std::string_view text,
                                                              std::string& bad) {
  std::vector<external_endpoint> out;
  for (auto& raw : base::split(text, ',')) {
    auto entry = std::string(base::trim(raw));
    if (entry.empty()) continue;
    auto parts = base::split(entry, ':');
    bad = entry;
    if (parts.size() != 3) return std::nullopt;
    external_endpoint e;
    e.host = base::to_lower(base::trim(parts[0]));
    bool host_ok = !e.host.empty() && e.host.size() <= 253;
    for (char c : e.host)
      host_ok = host_ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-');
    auto port = base::parse_u64(base::trim(parts[1]));
    e.tls = base::to_lower(base::trim(parts[2]));
    if (e.tls == "implicit") e.tls = "ssl";
    if (e.tls == "starttls") e.tls = "tls";
    if (!host_ok || !port || *port < 1 || *port > 65535 ||
        (e.tls != "ssl" && e.tls != "tls" && e.tls != "none"))
      return std::nullopt;
    e.port = static_cast<uint16_t>(*port);
    out.push_back(std::move(e));
  }
  bad.clear();
  return out;
}

std::span<const setting_spec> settings_for(std::string_view protocol) {
  if (protocol == "pop3") return pop3_all;
  if (protocol == "imap") return imap_all;
  if (protocol == "lmtp") return lmtp_all;
  if (protocol == "submission") return submission_all;
  return {};
}

const setting_spec* find_setting(std::string_view protocol, std::string_view key) {
  for (auto& s : settings_for(protocol))
    if (s.key == key) return &s;
  return nullptr;
}

base::result<std::string> validate_setting(std::string_view protocol, std::string_view key,
                                           std::string_view value) {
  auto bad = [&](std::string why) {
    return base::error{
        base::errc::invalid_argument,
        fmt::format("{} setting {} = '{}': {}", protocol, key, base::printable(value, 80), why),
        ""};
  };
  const setting_spec* spec = find_setting(protocol, key);
  if (!spec) {
    std::string known;
    for (auto& s : settings_for(protocol))
      known += fmt::format("{}{}", known.empty() ? "" : ", ", s.key);
    return base::error{
        base::errc::not_found,
        fmt::format("{} has no setting '{}'; settings are: {}", protocol, key, known), ""};
  }
  switch (spec->kind) {
    case setting_kind::integer: {
      auto n = base::parse_u64(base::trim(value));
      if (!n || static_cast<int64_t>(*n) < spec->min || static_cast<int64_t>(*n) > spec->max)
        return bad(fmt::format("must be a whole number from {} to {}", spec->min, spec->max));
      return std::to_string(*n);
    }
    case setting_kind::duration: {
      auto n = parse_duration(value);
      if (!n || *n < spec->min || *n > spec->max)
        return bad(fmt::format("must be a duration from {} to {} (e.g. 90s, 30min, 1h)",
                               format_duration(spec->min), format_duration(spec->max)));
      return format_duration(*n);
    }
    case setting_kind::choice: {
      auto v = base::to_lower(base::trim(value));
      for (auto c : spec->choices)
        if (c == v) return v;
      std::string allowed;
      for (auto c : spec->choices) allowed += fmt::format("{}{}", allowed.empty() ? "" : " or ", c);
      return bad(fmt::format("must be {}", allowed));
    }
    case setting_kind::text: {
      for (char c : value)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
          return bad("must not contain control characters or line breaks");
      if (static_cast<int64_t>(value.size()) > spec->max)
        return bad(fmt::format("must be at most {} characters", spec->max));
      return std::string(value);
    }
    case setting_kind::endpoints: {
      std::string bad_entry;
      auto list = parse_endpoints(value, bad_entry);
      if (!list)
        return bad(
            fmt::format("'{}' is not host:port:ssl|tls|none (e.g. "
                        "mail.example.com:995:ssl, mail.example.com:110:tls)",
                        base::printable(bad_entry, 80)));
      std::string norm;
      for (auto& e : *list)
        norm += fmt::format("{}{}:{}:{}", norm.empty() ? "" : ", ", e.host, e.port, e.tls);
      return norm;
    }
    case setting_kind::networks: {
      std::vector<base::ip_network> nets;
      std::string bad_entry;
      if (!base::parse_network_list(value, nets, bad_entry))
        return bad(fmt::format("'{}' is not an address or CIDR network", bad_entry));
      std::string norm;
      for (auto& n : nets) norm += fmt::format("{}{}", norm.empty() ? "" : ", ", n.text);
      return norm;
    }
  }
  return bad("unknown kind");
}

protocol_log_settings log_limits_of(const setting_map& m, std::string_view p) {
  protocol_log_settings l;
  l.enabled = value_of(m, p, "protocol_log") == "on";
  l.max_file_size = static_cast<uint64_t>(integer_of(m, p, "protocol_log_max_file_size"));
  l.max_directory_size = static_cast<uint64_t>(integer_of(m, p, "protocol_log_max_directory_size"));
  l.max_age = duration_of(m, p, "protocol_log_max_age");
  return l;
}

policy::budget_settings budget_of(const setting_map& m, std::string_view p) {
  policy::budget_settings b;
  b.max_concurrency = static_cast<uint32_t>(integer_of(m, p, "max_concurrency"));
  b.max_burst = std::chrono::milliseconds(integer_of(m, p, "max_burst"));
  b.recharge_rate = std::chrono::milliseconds(integer_of(m, p, "recharge_rate"));
  b.cutoff_balance = std::chrono::milliseconds(integer_of(m, p, "cutoff_balance"));
  return b;
}

health_settings health_of(const setting_map& m, std::string_view p) {
  health_settings h;
  h.enabled = value_of(m, p, "health_probe") == "on";
  h.interval = duration_of(m, p, "health_probe_interval");
  h.failures = static_cast<uint32_t>(integer_of(m, p, "health_failures"));
  h.min_free_space = static_cast<uint64_t>(integer_of(m, p, "health_min_free_space"));
  h.probe_account = value_of(m, p, "health_probe_account");
  return h;
}

pop3_settings make_pop3_settings(const setting_map& m) {
  constexpr std::string_view p = "pop3";
  pop3_settings s;
  s.login =
      value_of(m, p, "login_type") == "plaintext" ? login_type::plaintext : login_type::secure;
  std::string bad;
  base::parse_network_list(value_of(m, p, "secure_networks"), s.secure_networks, bad);
  s.max_connections = static_cast<uint32_t>(integer_of(m, p, "max_connections"));
  s.max_connections_from_single_ip =
      static_cast<uint32_t>(integer_of(m, p, "max_connections_from_single_ip"));
  s.max_connections_per_user = static_cast<uint32_t>(integer_of(m, p, "max_connections_per_user"));
  s.preauthenticated_timeout = duration_of(m, p, "preauthenticated_timeout");
  s.authenticated_timeout = duration_of(m, p, "authenticated_timeout");
  s.max_command_size = static_cast<uint32_t>(integer_of(m, p, "max_command_size"));
  s.message_sort_order = value_of(m, p, "message_sort_order") == "descending"
                             ? sort_order::descending
                             : sort_order::ascending;
  s.login_failure_delay = duration_of(m, p, "login_failure_delay");
  s.login_failure_delay_max = duration_of(m, p, "login_failure_delay_max");
  s.login_block_threshold = static_cast<uint32_t>(integer_of(m, p, "login_block_threshold"));
  s.login_block_window = duration_of(m, p, "login_block_window");
  s.banner = value_of(m, p, "banner");
  s.drain_timeout = duration_of(m, p, "drain_timeout");
  s.log = log_limits_of(m, p);
  s.budget = budget_of(m, p);
  s.health = health_of(m, p);
  return s;
}

imap_settings make_imap_settings(const setting_map& m) {
  constexpr std::string_view p = "imap";
  imap_settings s;
  s.login =
      value_of(m, p, "login_type") == "plaintext" ? login_type::plaintext : login_type::secure;
  std::string bad;
  base::parse_network_list(value_of(m, p, "secure_networks"), s.secure_networks, bad);
  s.max_connections = static_cast<uint32_t>(integer_of(m, p, "max_connections"));
  s.max_connections_from_single_ip =
      static_cast<uint32_t>(integer_of(m, p, "max_connections_from_single_ip"));
  s.max_connections_per_user = static_cast<uint32_t>(integer_of(m, p, "max_connections_per_user"));
  s.preauthenticated_timeout = duration_of(m, p, "preauthenticated_timeout");
  s.authenticated_timeout = duration_of(m, p, "authenticated_timeout");
  s.max_command_size = static_cast<uint32_t>(integer_of(m, p, "max_command_size"));
  s.max_message_size = static_cast<uint64_t>(integer_of(m, p, "max_message_size"));
  s.login_failure_delay = duration_of(m, p, "login_failure_delay");
  s.login_failure_delay_max = duration_of(m, p, "login_failure_delay_max");
  s.login_block_threshold = static_cast<uint32_t>(integer_of(m, p, "login_block_threshold"));
  s.login_block_window = duration_of(m, p, "login_block_window");
  s.full_text_index = value_of(m, p, "full_text_index") == "on";
  s.banner = value_of(m, p, "banner");
  s.drain_timeout = duration_of(m, p, "drain_timeout");
  s.log = log_limits_of(m, p);
  s.budget = budget_of(m, p);
  s.health = health_of(m, p);
  return s;
}

lmtp_settings make_lmtp_settings(const setting_map& m) {
  constexpr std::string_view p = "lmtp";
  lmtp_settings s;
  s.max_message_size = static_cast<uint64_t>(integer_of(m, p, "max_message_size"));
  s.max_recipients = static_cast<uint32_t>(integer_of(m, p, "max_recipients"));
  s.max_connections = static_cast<uint32_t>(integer_of(m, p, "max_connections"));
  s.timeout = duration_of(m, p, "timeout");
  s.min_data_rate = static_cast<uint64_t>(integer_of(m, p, "min_data_rate"));
  s.drain_timeout = duration_of(m, p, "drain_timeout");
  s.log = log_limits_of(m, p);
  s.health = health_of(m, p);
  return s;
}

}  // namespace postern::directory

namespace postern::directory {

submission_settings make_submission_settings(const setting_map& m) {
  constexpr std::string_view p = "submission";
  submission_settings s;
  s.login =
      value_of(m, p, "login_type") == "plaintext" ? login_type::plaintext : login_type::secure;
  std::string bad;
  base::parse_network_list(value_of(m, p, "secure_networks"), s.secure_networks, bad);
  s.max_connections = static_cast<uint32_t>(integer_of(m, p, "max_connections"));
  s.max_connections_from_single_ip =
      static_cast<uint32_t>(integer_of(m, p, "max_connections_from_single_ip"));
  s.max_connections_per_user = static_cast<uint32_t>(integer_of(m, p, "max_connections_per_user"));
  s.preauthenticated_timeout = duration_of(m, p, "preauthenticated_timeout");
  s.authenticated_timeout = duration_of(m, p, "authenticated_timeout");
  s.max_message_size = static_cast<uint64_t>(integer_of(m, p, "max_message_size"));
  s.max_recipients = static_cast<uint32_t>(integer_of(m, p, "max_recipients"));
  s.max_messages_per_hour = static_cast<uint32_t>(integer_of(m, p, "max_messages_per_hour"));
  s.min_data_rate = static_cast<uint64_t>(integer_of(m, p, "min_data_rate"));
  s.save_sent = value_of(m, p, "save_sent") == "on";
  s.queue_lifetime = duration_of(m, p, "queue_lifetime");
  s.delay_warning = duration_of(m, p, "delay_warning");
  s.login_failure_delay = duration_of(m, p, "login_failure_delay");
  s.login_failure_delay_max = duration_of(m, p, "login_failure_delay_max");
  s.login_block_threshold = static_cast<uint32_t>(integer_of(m, p, "login_block_threshold"));
  s.login_block_window = duration_of(m, p, "login_block_window");
  s.banner = value_of(m, p, "banner");
  s.drain_timeout = duration_of(m, p, "drain_timeout");
  s.log = log_limits_of(m, p);
  s.health = health_of(m, p);
  return s;
}

}  // namespace postern::directory
