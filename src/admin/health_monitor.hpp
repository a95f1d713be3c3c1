// The node's health monitor (requester `health` of the component states):
// every health_probe_interval it checks each protocol this node serves — the
// directory answers, the store takes a synced write, data_dir has
// health_min_free_space free, and with health_probe_account set, that
// mailbox's INBOX opens and the protocol's own listener greets and lists its
// capabilities. After health_failures failures in a row it sets the component
// inactive with the failing step as the reason; unlike Exchange's HealthAPI it
// sets it active again once a probe passes. Both changes are logged and
// counted, and `postern component get` shows them.
//
// It never overrides another requester: it only ever sets or clears its own
// state. While another requester holds the component out of service, the
// listener step only checks that a connection is accepted.
//
// Threads: a thread of its own; start() and stop() from the node's main thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/server.hpp"

namespace postern::directory {
class directory;
class component_view;
class live_settings;
}  // namespace postern::directory
namespace postern::store {
class store;
}
namespace postern::observe {
class metrics;
}

namespace postern::admin {

struct health_target {
  std::string protocol;  // pop3, imap, lmtp
  std::string address;   // where the node listens for it
  uint16_t port = 0;
  net::tls_mode tls = net::tls_mode::none;
};

struct health_outcome {
  bool ok = true;
  std::string step;    // the first failing step
  std::string detail;  // what it found
};

class health_monitor {
 public:
  health_monitor(directory::directory& dir, directory::component_view& components,
                 directory::live_settings& settings, store::store& mail, std::string data_dir,
                 std::vector<health_target> targets, observe::metrics* metrics);
  ~health_monitor();

  void start();
  void stop();
  // One probe of one protocol, now (the loop's work; tests call it directly).
  health_outcome probe(const health_target& t);

 private:
  void run();
  void judge(const health_target& t, const health_outcome& o, uint32_t failures_allowed);

  directory::directory& dir_;
  directory::component_view& components_;
  directory::live_settings& settings_;
  store::store& mail_;
  std::string data_dir_;
  std::vector<health_target> targets_;
  observe::metrics* metrics_;
  std::vector<uint32_t> failures_;  // consecutive, per target
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace postern::admin
