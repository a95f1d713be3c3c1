// A small blocking line client for the connectivity tester (`postern test`)
// and the health monitor: TCP with a deadline on every step, TLS through
// OpenSSL (implicit, or started after STLS/STARTTLS) with what a person needs
// to judge the certificate, and line/literal reads bounded in size.
//
// Threads: one client, one thread. Nothing here touches the node's I/O
// threads; it talks to a server like any mail client.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/error.hpp"

struct ssl_st;
struct ssl_ctx_st;
struct x509_st;

namespace postern::admin {

struct tls_facts {
  std::string version;  // "TLSv1.3"
  std::string cipher;
  std::vector<std::string> chain;  // "subject (issuer ...)" from the leaf up
  std::string not_after;           // "2027-01-01T00:00:00Z"
  int64_t days_left = 0;
  bool self_signed = false;
  bool name_matches = false;  // the certificate covers the host asked for
  std::string verify_error;   // empty when the chain verified
};

// When a certificate lapses, and whether it signed itself (the tester's
// certificate step and `postern cert` alike).
struct certificate_dates {
  std::string not_after;  // "2027-01-01T00:00:00Z"
  int64_t days_left = 0;  // whole days; negative once expired
  bool self_signed = false;
};
certificate_dates dates_of(x509_st* cert);

class probe_client {
 public:
  probe_client() = default;
  ~probe_client();
  probe_client(const probe_client&) = delete;
  probe_client& operator=(const probe_client&) = delete;

  // Resolves `host` (IP or name); the error says what failed.
  static base::result<std::vector<std::string>> resolve(const std::string& host);
  base::status connect(const std::string& ip, uint16_t port, std::chrono::milliseconds timeout);
  // TLS on the connected socket; `host` is checked against the certificate
  // (facts().name_matches), `ca_file` trusted besides the system's CAs.
  base::status start_tls(const std::string& host, const std::string& ca_file);
  const tls_facts& facts() const { return facts_; }
  bool tls() const { return ssl_ != nullptr; }

  base::status send(std::string_view data);
  // One line without its CRLF, at most 64 KiB.
  base::result<std::string> read_line();
  // Exactly n bytes (an IMAP literal), at most 64 MiB.
  base::result<std::string> read_bytes(size_t n);
  void set_timeout(std::chrono::milliseconds t) { timeout_ = t; }
  void close();
  // From another thread: makes a blocked read or write return at once (the
  // socket is shut down both ways; the owner still closes it).
  void abort();

 private:
  base::result<size_t> read_some(char* buf, size_t n);
  base::error failed(std::string what) const;

  int fd_ = -1;
  ssl_ctx_st* ctx_ = nullptr;
  ssl_st* ssl_ = nullptr;
  std::chrono::milliseconds timeout_{10000};
  std::string buffer_;
  tls_facts facts_;
};

}  // namespace postern::admin
