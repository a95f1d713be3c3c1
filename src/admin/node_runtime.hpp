// What only a running node has, for the commands that need it (readiness,
// sessions): the admin API hands it to their handlers; the CLI working on
// the data folder has none.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "admin/command_registry.hpp"
#include "session/services.hpp"

namespace postern::observe {
class protocol_log;
}
namespace postern::net {
class tls_source;
}

namespace postern::queue {
class queue_store;
class relay_worker;
}  // namespace postern::queue

namespace postern::admin {

class text_indexer;

struct node_runtime {
  session::services& svc;
  const node_config& cfg;
  std::chrono::system_clock::time_point started = std::chrono::system_clock::now();
  std::vector<std::string> listening;  // "pop3 127.0.0.1:10110 (STARTTLS)", one per listener
  // Applies a settings change the node keeps outside live_settings (the
  // protocol logs) at once, instead of at the watcher's next turn.
  std::function<void()> settings_changed;
  observe::protocol_log* logs = nullptr;
  // Each TLS listener with the certificate source it hands out.
  struct listener_certificate {
    std::string listener;  // "imap 127.0.0.1:993"
    std::shared_ptr<net::tls_source> source;
  };
  std::vector<listener_certificate> certificates;
  // The outbound queue (always open) and its relay (only with [relay] host).
  queue::queue_store* queue = nullptr;
  queue::relay_worker* relay = nullptr;
  // The full-text indexer (text_indexer.hpp).
  text_indexer* indexer = nullptr;
};

// /readyz and `postern node status`: one row per check (directory, store,
// listeners) with its state and what was found; 503 when any fails.
command_reply readiness(node_runtime& node);

// Reloads every certificate source (cert_commands.cpp): one line per source,
// and the reply fails when any file was refused (its old certificate stays).
command_reply reload_certificates(node_runtime& node);

// GET /metrics: OpenMetrics text (metrics_page.cpp).
std::string render_metrics(node_runtime& node);

}  // namespace postern::admin
