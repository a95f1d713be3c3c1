// `postern pop3|lmtp get|set`: settings live in the directory, so a change
// reaches the running node's next connection without a restart.
#include <fmt/format.h>

#include "admin/commands.hpp"
#include "directory/directory.hpp"

namespace postern::admin {

int settings_get(const node_config& cfg, const std::string& protocol, const std::string& key) {
  auto dir = directory::open_sqlite_directory(cfg.data_dir, true);
  if (!dir) {
    fmt::print(stderr, "postern: {}\n", dir.err().message);
    return ex_config;
  }
  auto stored = (*dir)->settings(protocol);
  if (!stored) {
    fmt::print(stderr, "postern: {}\n", stored.err().message);
    return ex_ioerr;
  }
  if (!key.empty() && !directory::find_setting(protocol, key)) {
    auto v = directory::validate_setting(protocol, key, "");
    fmt::print(stderr, "postern: {}\n", v.err().message);
    return ex_usage;
  }
  fmt::print("{:<32} {:<28} {}\n", "setting", "value", "default");
  for (auto& spec : directory::settings_for(protocol)) {
    if (!key.empty() && spec.key != key) continue;
    auto it = stored->find(spec.key);
    std::string value = it != stored->end() ? it->second : std::string(spec.default_value);
    auto show = [](const std::string& v) { return v.empty() ? std::string("(none)") : v; };
    fmt::print("{:<32} {:<28} {}\n", spec.key, show(value), show(std::string(spec.default_value)));
  }
  return ex_ok;
}

int settings_set(const node_config& cfg, const std::string& protocol,
                 const std::vector<std::string>& assignments) {
  auto dir = directory::open_sqlite_directory(cfg.data_dir, true);
  if (!dir) {
    fmt::print(stderr, "postern: {}\n", dir.err().message);
    return ex_config;
  }
  // Check every assignment before storing any, so a typo changes nothing.
  std::vector<std::pair<std::string, std::string>> parsed;
  for (auto& a : assignments) {
    auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0) {
      fmt::print(stderr, "postern: '{}' is not KEY=VALUE (e.g. max_connections_per_user=32)\n", a);
      return ex_usage;
    }
    auto k = a.substr(0, eq), v = a.substr(eq + 1);
    if (auto ok = directory::validate_setting(protocol, k, v); !ok) {
      fmt::print(stderr, "postern: {}\n", ok.err().message);
      return ex_usage;
    }
    parsed.emplace_back(k, v);
  }
  auto before = (*dir)->settings(protocol);
  for (auto& [k, v] : parsed) {
    auto stored = (*dir)->set_setting(protocol, k, v);
    if (!stored) {
      fmt::print(stderr, "postern: {}\n", stored.err().message);
      return ex_ioerr;
    }
    std::string old = std::string(directory::find_setting(protocol, k)->default_value);
    if (before)
      if (auto it = before->find(k); it != before->end()) old = it->second;
    fmt::print("{} {} = {} (was {}); new connections use it now\n", protocol, k, *stored,
               old.empty() ? "(none)" : old);
  }
  return ex_ok;
}

}  // namespace postern::admin
