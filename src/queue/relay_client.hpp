// One SMTP transaction (RFC 5321) with the configured smarthost: connect,
// EHLO, TLS as [relay] tls says (STARTTLS, RFC 3207, or implicit, RFC 8314),
// AUTH PLAIN (RFC 4954) when a username is set, MAIL, RCPT for each
// recipient, DATA with the message dot-stuffed, QUIT. Blocking, on the relay
// worker's thread, with a deadline on every read and write.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "queue/queue_store.hpp"

namespace postern::queue {

struct relay_config {
  enum class tls_mode { starttls, implicit, none };
  std::string host;  // empty: no relay configured; remote recipients are refused
  uint16_t port = 25;
  tls_mode tls = tls_mode::starttls;
  std::string username;
  std::string password_file;
  std::string ca_file;  // trusted besides the system's CAs
  std::string origin;   // "postern.toml [relay]", named in errors
  bool configured() const { return !host.empty(); }
};

const char* tls_mode_name(relay_config::tls_mode m);

// One recipient's outcome. code 0: no SMTP reply (a connection error, a
// timeout, the TLS or AUTH step): temporary, like a 4xx.
struct recipient_outcome {
  int64_t recipient_id = 0;
  int code = 0;
  std::string reply;  // "550 5.1.1 <x@example.net>: no such user" or the error's words
};

struct relay_attempt {
  std::string remote;  // "smtp.example.net [192.0.2.1]:587"
  std::vector<recipient_outcome> outcomes;
};

// Relays `m` (whose recipients are the ones to try) from the file at `path`.
// `helo` is this node's name; `password` is the password file's content.
relay_attempt relay_message(const relay_config& cfg, const std::string& password,
                            const std::string& helo, const queued_message& m,
                            const std::string& path);

}  // namespace postern::queue
