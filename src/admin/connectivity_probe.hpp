// `postern test pop3|imap|smtp|lmtp` (Test-PopConnectivity, Test-ImapConnectivity,
// and the Remote Connectivity Analyzer, against any server): resolve, connect,
// TLS handshake (protocol, cipher, chain, expiry, name), greeting,
// capabilities, login, list or select, fetch one message, logout — each step
// timed with a verdict, and on failure what to check next.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace postern::admin {

enum class probe_tls { implicit, starttls, none };

struct probe_options {
  std::string protocol;  // pop3, imap, smtp, lmtp
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: the protocol's standard port for the TLS mode
  probe_tls tls = probe_tls::implicit;
  std::string user, password;  // empty user: no login steps
  std::string ca_file;         // trusted besides the system's CAs
  std::chrono::milliseconds timeout{10000};
  // False for the node's own health probe: the certificate is `postern
  // cert`'s concern, not a reason to take a component out of service.
  bool judge_certificate = true;
};

struct probe_step {
  std::string name;  // "connect", "tls", "greeting", ...
  bool ok = false;
  std::chrono::milliseconds took{0};
  std::string detail;  // what was seen
  std::string advice;  // on failure: what to check next
};

struct probe_report {
  std::vector<probe_step> steps;
  bool ok() const {
    for (auto& s : steps)
      if (!s.ok) return false;
    return !steps.empty();
  }
};

uint16_t standard_port(const std::string& protocol, probe_tls tls);
probe_report run_probe(const probe_options& o);

}  // namespace postern::admin
