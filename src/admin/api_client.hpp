// The CLI's side of the admin API: finds the node's admin listener in
// postern.toml and its token in the data folder, and runs a command there.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "admin/command_registry.hpp"
#include "admin/config.hpp"

namespace postern::admin {

struct api_endpoint {
  std::string address;
  uint16_t port = 0;
  bool tls = false;
  std::string ca_file;        // the node's certificate, trusted for its own API
  std::string where() const;  // "http://127.0.0.1:10080"
};

// The first admin listener of the configuration; nullopt when there is none.
std::optional<api_endpoint> find_api(const node_config& cfg);

struct api_call {
  enum class outcome {
    answered,     // `reply` is the node's answer (ok or not)
    not_running,  // nothing listens there: the node is not running
    failed,       // it listens but the call failed: `why` says how
  } what = outcome::failed;
  command_reply reply;
  std::string why;
};

// Runs `command` with `args` on the node, bounded by `timeout`.
api_call call_api(const api_endpoint& at, const std::string& token, const std::string& command,
                  const arguments& args, std::chrono::seconds timeout = std::chrono::seconds(60));

}  // namespace postern::admin
