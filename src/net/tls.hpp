// Server TLS contexts built from the configured certificate and key.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "base/error.hpp"
#include "net/asio.hpp"

struct x509_st;

namespace postern::net {

// Mozilla's server-side TLS profiles: "intermediate" (the default) is TLS 1.3
// plus TLS 1.2 with ECDHE key exchange and AEAD ciphers only; "modern" is
// TLS 1.3 only.
enum class tls_profile { intermediate, modern };

struct tls_options {
  tls_profile profile = tls_profile::intermediate;
  // More certificate and key pairs ([[tls.sni]]): a client that names a host
  // (SNI, RFC 6066 §3) one of them covers gets that one, any other client
  // the listener's own certificate.
  std::vector<std::pair<std::string, std::string>> sni;
  // A PEM file of CAs: a client may present a certificate one of them issued
  // (the admin API takes it instead of the token). Unverified certificates
  // do not end the handshake; the listener decides what they may do.
  std::string client_ca;
};

// Loads the PEM certificate chain and key, checks they match, applies the
// profile. The error names the file and OpenSSL's reason.
base::result<std::shared_ptr<asio::ssl::context>> make_server_tls(
    const std::string& certificate, const std::string& key,
    tls_profile profile = tls_profile::intermediate);
base::result<std::shared_ptr<asio::ssl::context>> make_server_tls(const std::string& certificate,
                                                                  const std::string& key,
                                                                  const tls_options& options);
// The certificates SNI chooses from on a context (the [[tls.sni]] ones).
std::vector<x509_st*> sni_certificates(const asio::ssl::context& ctx);

// The TLS context a listener hands to each new connection, replaceable while
// the node runs (`postern cert reload`, SIGHUP): a connection keeps the
// context it started with; the next one gets the new files. A reload that
// fails leaves the loaded certificate in place.
//
// Threads: thread-safe.
class tls_source {
 public:
  tls_source(std::string certificate, std::string key, tls_options options,
             std::shared_ptr<asio::ssl::context> loaded)
      : certificate_(std::move(certificate)),
        key_(std::move(key)),
        options_(std::move(options)),
        current_(std::move(loaded)) {}

  std::shared_ptr<asio::ssl::context> current() const {
    std::lock_guard lock(mu_);
    return current_;
  }
  // Loads the files again; on failure the error names the file and reason.
  base::status reload();
  const std::string& certificate_path() const { return certificate_; }
  const std::string& key_path() const { return key_; }

 private:
  std::string certificate_, key_;
  tls_options options_;
  mutable std::mutex mu_;
  std::shared_ptr<asio::ssl::context> current_;
};

}  // namespace postern::net
