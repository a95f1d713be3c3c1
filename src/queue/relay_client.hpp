// SMTP (RFC 5321) with the configured smarthost: a session connects, says
// EHLO, starts TLS as [relay] tls says (STARTTLS, RFC 3207, or implicit, RFC
// 8314) and authenticates (AUTH PLAIN, RFC 4954) when a username is set;
// then each message is one transaction (MAIL, RCPT for each recipient, DATA
// with the message dot-stuffed), several on one connection as MTAs do
// (RFC 5321 §3.3), and QUIT at the end. Blocking, on a relay worker thread,
// with a deadline on every read and write.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "queue/queue_store.hpp"

namespace postern::admin {
class probe_client;
}

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
  std::string remote;           // "smtp.example.net [192.0.2.1]:587"
  bool relay_does_dsn = false;  // it took NOTIFY, so success reports are its business
  std::vector<recipient_outcome> outcomes;
};

class relay_session {
 public:
  relay_session(const relay_config& cfg, std::string password, std::string helo);
  ~relay_session();
  relay_session(const relay_session&) = delete;
  relay_session& operator=(const relay_session&) = delete;

  // Relays `m` (whose recipients are the ones to try) from the file at
  // `path`, connecting first when not connected. After a connection-level
  // failure the session is closed and the next message connects again.
  relay_attempt send(const queued_message& m, const std::string& path);
  // QUIT, when connected.
  void close();
  // From another thread (shutdown): a read or write in progress fails at
  // once, so the message is deferred instead of holding the node up.
  void interrupt();

 private:
  struct failure {
    int code = 0;  // 0: temporary, no reply
    std::string words;
  };
  std::optional<failure> connect();
  void drop_client();
  relay_attempt transaction(const queued_message& m, const std::string& path);

  const relay_config& cfg_;
  std::string password_, helo_;
  std::mutex client_mu_;  // c_ is replaced by its thread, aborted by stop()
  std::unique_ptr<admin::probe_client> c_;
  std::string remote_;
  std::vector<std::string> extensions_;  // EHLO's lines after the greeting
  bool ready_ = false;
};

}  // namespace postern::queue
