// The health probe's own account: `postern health account ADDRESS` makes it
// (or renews its password) and keeps the password in
// data_dir/health-probe.secret (mode 0600), so the node's probe can log in
// over each protocol as a client would (seed 003's health mailbox), where an
// administrator's account's password is never known to the node.
#pragma once

#include <optional>
#include <string>

#include "base/error.hpp"

namespace postern::admin {

struct probe_credentials {
  std::string address, password;
};

std::string health_secret_path(const std::string& data_dir);
// The stored credentials; nullopt when there are none (or they cannot be read).
std::optional<probe_credentials> read_probe_credentials(const std::string& data_dir);
// Writes them (0600, replaced atomically); the error names the file.
base::status write_probe_credentials(const std::string& data_dir, const probe_credentials& c);

}  // namespace postern::admin
