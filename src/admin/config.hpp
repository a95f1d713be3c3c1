// Node-local bootstrap configuration (postern.toml): data folder, listeners,
// TLS files. Protocol policy is not here; it lives in the directory.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "net/server.hpp"
#include "net/tls.hpp"
#include "queue/relay_client.hpp"

namespace postern::admin {

struct listener_config {
  std::string protocol;
  std::string address = "127.0.0.1";
  uint16_t port = 0;
  net::tls_mode tls = net::tls_mode::none;
  // This listener's own certificate and key; empty: [tls] certificate and key.
  std::string certificate, key;
  // Admin API over TLS only: clients presenting a certificate these CAs
  // issued are let in without the token.
  std::string client_ca;
  std::string origin;  // "postern.toml [[listener]] #2 (line 14)"
};

struct node_config {
  std::string path;      // the file it came from
  std::string data_dir;  // absolute, or relative to the config file's folder
  std::string role = "standalone";
  std::string hostname;
  unsigned threads = 0;                               // 0: one per core
  std::chrono::milliseconds shutdown_timeout{10000};  // graceful shutdown's second stage
  std::string tls_certificate, tls_key;
  net::tls_profile tls_profile = net::tls_profile::intermediate;
  // [[tls.sni]]: more certificate and key pairs, chosen by the name a client asks for.
  std::vector<std::pair<std::string, std::string>> tls_sni;
  std::vector<listener_config> listeners;
  // [relay]: where remote recipients go; unset, submission refuses them.
  queue::relay_config relay;
};

// Reads and checks the file. Every error names the file, the key (with its
// line) and what is wrong; an unknown key is an error, not a warning.
base::result<node_config> load_config(const std::string& path);

// Protocols a listener may name in this version.
bool protocol_supported(const std::string& protocol);

}  // namespace postern::admin
