// What only a running node has, for the commands that need it (readiness,
// sessions): the admin API hands it to their handlers; the CLI working on
// the data folder has none.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "admin/command_registry.hpp"
#include "session/services.hpp"

namespace postern::admin {

struct node_runtime {
  session::services& svc;
  const node_config& cfg;
  std::chrono::system_clock::time_point started = std::chrono::system_clock::now();
  std::vector<std::string> listening;  // "pop3 127.0.0.1:10110 (STARTTLS)", one per listener
};

// /readyz and `postern node status`: one row per check (directory, store,
// listeners) with its state and what was found; 503 when any fails.
command_reply readiness(node_runtime& node);

}  // namespace postern::admin
