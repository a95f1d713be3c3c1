#include "options.hpp"

#include <cctype>
#include <charconv>
#include <functional>
#include <map>
#include <stdexcept>
#include <string_view>

namespace loadgen {

namespace {

std::uint64_t parse_size(std::string_view s) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end == s.data())
    throw std::invalid_argument("not a size: " + std::string(s));
  std::string_view suffix(end, s.data() + s.size() - end);
  if (suffix == "" || suffix == "B") return value;
  if (suffix == "K" || suffix == "KiB") return value << 10;
  if (suffix == "M" || suffix == "MiB") return value << 20;
  if (suffix == "G" || suffix == "GiB") return value << 30;
  throw std::invalid_argument("unknown size suffix in " + std::string(s));
}

int parse_int(std::string_view s, int min, int max = 1'000'000'000) {
  const auto v = parse_size(s);
  if (v < static_cast<std::uint64_t>(min) || v > static_cast<std::uint64_t>(max))
    throw std::invalid_argument("out of range: " + std::string(s));
  return static_cast<int>(v);
}

tls_mode parse_tls(std::string_view s) {
  if (s == "none") return tls_mode::none;
  if (s == "implicit") return tls_mode::implicit;
  if (s == "starttls") return tls_mode::starttls;
  throw std::invalid_argument("--tls must be none, implicit or starttls");
}

// "LABEL=COMMAND TEXT": the label names the command's latency in the output.
std::pair<std::string, std::string> parse_command(const std::string& v) {
  const auto eq = v.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == v.size())
    throw std::invalid_argument("--command must be LABEL=IMAP COMMAND, not " + v);
  const auto label = v.substr(0, eq);
  for (const char ch : label) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_')
      throw std::invalid_argument("--command label must be letters, digits and _: " + label);
  }
  return {label, v.substr(eq + 1)};
}

using setter_fn = std::function<void(options&, const std::string&)>;

const std::map<std::string_view, setter_fn>& setters() {
  static const std::map<std::string_view, setter_fn> table{
      {"--host", [](options& o, const std::string& v) { o.host = v; }},
      {"--port", [](options& o, const std::string& v) { o.port = parse_int(v, 1, 65535); }},
      {"--tls", [](options& o, const std::string& v) { o.tls = parse_tls(v); }},
      {"--server-name", [](options& o, const std::string& v) { o.server_name = v; }},
      {"--sessions", [](options& o, const std::string& v) { o.sessions = parse_int(v, 1); }},
      {"--repeat", [](options& o, const std::string& v) { o.repeat = parse_int(v, 1); }},
      {"--timeout", [](options& o, const std::string& v) { o.timeout_seconds = parse_int(v, 1); }},
      {"--user", [](options& o, const std::string& v) { o.user = v; }},
      {"--password", [](options& o, const std::string& v) { o.password = v; }},
      {"--window", [](options& o, const std::string& v) { o.window = parse_int(v, 1); }},
      {"--max-retr", [](options& o, const std::string& v) { o.max_retr = parse_int(v, 0); }},
      {"--messages", [](options& o, const std::string& v) { o.messages = parse_int(v, 1); }},
      {"--message-dir", [](options& o, const std::string& v) { o.message_dir = v; }},
      {"--message-size", [](options& o, const std::string& v) { o.message_size = parse_size(v); }},
      {"--rcpt", [](options& o, const std::string& v) { o.rcpts.push_back(v); }},
      {"--rcpts-per-message",
       [](options& o, const std::string& v) { o.rcpts_per_message = parse_int(v, 1); }},
      {"--from", [](options& o, const std::string& v) { o.mail_from = v; }},
      {"--command",
       [](options& o, const std::string& v) { o.commands.push_back(parse_command(v)); }},
      {"--loops", [](options& o, const std::string& v) { o.loops = parse_int(v, 1); }},
      {"--duration",
       [](options& o, const std::string& v) { o.duration_seconds = parse_int(v, 1); }},
      {"--interval-ms", [](options& o, const std::string& v) { o.interval_ms = parse_int(v, 0); }},
      {"--bytes", [](options& o, const std::string& v) { o.bytes = parse_size(v); }},
      {"--cert", [](options& o, const std::string& v) { o.cert_file = v; }},
      {"--key", [](options& o, const std::string& v) { o.key_file = v; }},
  };
  return table;
}

}  // namespace

options parse_options(int argc, char** argv) {
  options o;
  if (argc < 2) throw std::invalid_argument("missing mode");
  o.mode = argv[1];
  if (o.mode == "-h" || o.mode == "--help") throw std::invalid_argument("");
  for (int i = 2; i < argc; ++i) {
    const std::string_view name = argv[i];
    if (i + 1 >= argc) throw std::invalid_argument("missing value for " + std::string(name));
    const std::string value = argv[++i];
    const auto setter = setters().find(name);
    if (setter == setters().end())
      throw std::invalid_argument("unknown option " + std::string(name));
    setter->second(o, value);
  }
  const bool needs_port = o.mode == "pop3-download" || o.mode == "lmtp-deliver" ||
                          o.mode == "smtp-submit" || o.mode == "imap-login" ||
                          o.mode == "imap-commands";
  if (needs_port && o.port == 0) throw std::invalid_argument("--port is required for " + o.mode);
  if (o.mode == "imap-commands" && o.commands.empty())
    throw std::invalid_argument("imap-commands needs at least one --command LABEL=COMMAND");
  static const std::string default_rcpt = "user{n}@example.test";
  if (o.rcpts.empty()) o.rcpts.push_back(default_rcpt);
  return o;
}

std::string expand(const std::string& pattern, int n) {
  std::string out = pattern;
  for (auto pos = out.find("{n}"); pos != std::string::npos; pos = out.find("{n}", pos)) {
    out.replace(pos, 3, std::to_string(n));
  }
  return out;
}

const char* usage() {
  return R"(usage: postern-loadgen MODE [options]

Modes:
  pop3-download  each session logs in (USER/PASS) and pipelines RETR 1..n,
                 checking every multi-line response's termination
  lmtp-deliver   each session delivers --messages messages over LMTP
                 (RFC 2033), waiting for the per-recipient replies
  smtp-submit    the same over submission (RFC 6409): EHLO, STARTTLS with
                 --tls starttls, AUTH PLAIN as --user/--password
  imap-login     login storm: each round connects, LOGINs and LOGOUTs (RFC 9051)
  imap-commands  each session LOGINs, then sends every --command in turn,
                 waiting for its tagged reply (literals read through)
  raw-tcp        byte stream from an in-process source on loopback
  raw-tls        the same over TLS 1.3
Prints one JSON line: throughput, latency percentiles per operation, errors,
and the load generator's own CPU seconds.

Common:
  --host ADDR (127.0.0.1)  --port N  --sessions N (1)  --timeout SECONDS (600)
  --repeat N (1): each session runs N rounds one after another, each on a
                  new connection (so a short download can be measured longer)
  --tls none|implicit|starttls (none)  --server-name NAME (localhost)
pop3-download:
  --user PATTERN (user{n})  --password P  --window N (32 RETR in flight)
  --max-retr N (0 = all messages STAT reports)
lmtp-deliver / smtp-submit (smtp-submit: --user PATTERN --password P too):
  --messages N per session (10)  --message-dir DIR | --message-size SIZE (80K)
  --rcpt PATTERN (repeatable; session i uses them in turn from i)
  --rcpts-per-message N (1)  --from ADDR
imap-login / imap-commands:
  --user PATTERN  --password P  (LOGIN; latency "login")
imap-commands:
  --command LABEL=COMMAND (repeatable, in order; latencies LABEL and
                          LABEL_first_byte, fields octets_LABEL, untagged_LABEL)
  --loops N (1) passes over the commands | --duration SECONDS of passes
  --interval-ms MS (0) pause between passes
raw-tcp / raw-tls:
  --bytes SIZE per session (256M)  --cert FILE --key FILE (else generated)
"{n}" in a pattern is the session number, from 1. Sizes take K, M, G suffixes.
)";
}

}  // namespace loadgen
