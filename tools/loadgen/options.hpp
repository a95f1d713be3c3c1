// Command line of postern-loadgen. See usage() for the meaning of each option.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace loadgen {

enum class tls_mode { none, implicit, starttls };

struct options {
  std::string
      mode;  // pop3-download | lmtp-deliver | smtp-submit | imap-login | imap-commands | raw-*
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  tls_mode tls = tls_mode::none;
  std::string server_name = "localhost";  // SNI
  int sessions = 1;
  int repeat = 1;  // rounds per session, each on a new connection
  double timeout_seconds = 600;

  // pop3-download
  std::string user = "user{n}";  // "{n}" becomes the session number, from 1
  std::string password = "password";
  int window = 32;   // RETR commands in flight per session
  int max_retr = 0;  // 0: every message that STAT reports

  // lmtp-deliver
  int messages = 10;  // per session
  std::string message_dir;
  std::uint64_t message_size = 80 * 1024;  // used when message_dir is empty
  std::vector<std::string> rcpts;          // per session, in turn; "{n}" as above
  int rcpts_per_message = 1;
  std::string mail_from = "loadgen@example.test";

  // imap-login / imap-commands: --user and --password as above
  std::vector<std::pair<std::string, std::string>> commands;  // (label, command text)
  int loops = 1;                // passes over the commands per session
  double duration_seconds = 0;  // instead of loops: passes until this long after login
  int interval_ms = 0;          // pause between passes

  // raw-tcp / raw-tls
  std::uint64_t bytes = 256ull << 20;  // per session
  std::string cert_file;               // raw-tls server side; generated if empty
  std::string key_file;
};

// Throws std::invalid_argument with a message for the user.
options parse_options(int argc, char** argv);
const char* usage();

// Replaces "{n}" in `pattern` by n.
std::string expand(const std::string& pattern, int n);

}  // namespace loadgen
