// Counts live connections per protocol, per client address and per user, and
// refuses new ones past the configured limits with a reason that names the
// limit (the seeds' "UserConnectionLimitReached" that nobody could see).
//
// Threads: thread-safe. A lease releases its slot when destroyed.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/error.hpp"

namespace postern::policy {

class connection_registry;

class lease {
 public:
  lease() = default;
  lease(connection_registry* r, std::string key) : registry_(r), key_(std::move(key)) {}
  lease(lease&& o) noexcept : registry_(o.registry_), key_(std::move(o.key_)) {
    o.registry_ = nullptr;
  }
  lease& operator=(lease&& o) noexcept;
  lease(const lease&) = delete;
  lease& operator=(const lease&) = delete;
  ~lease() { release(); }
  void release();

 private:
  connection_registry* registry_ = nullptr;
  std::string key_;
};

struct connection_leases {
  lease total;
  lease per_ip;
};

class connection_registry {
 public:
  // For a new connection: checks max_connections and max_connections_from_single_ip.
  base::result<connection_leases> admit(std::string_view protocol, std::string_view ip,
                                        uint32_t max_total, uint32_t max_per_ip);
  // At login: checks max_connections_per_user.
  base::result<lease> admit_user(std::string_view protocol, std::string_view user,
                                 uint32_t max_per_user);

  uint32_t connections(std::string_view protocol);
  uint32_t user_connections(std::string_view protocol, std::string_view user);
  // Refusals so far by (protocol, setting), for metrics.
  std::map<std::pair<std::string, std::string>, uint64_t> refusals();

 private:
  friend class lease;
  void release(const std::string& key);
  uint32_t count_locked(const std::string& key) const;

  std::mutex mu_;
  std::unordered_map<std::string, uint32_t> counts_;
  std::map<std::pair<std::string, std::string>, uint64_t> refusals_;
};

}  // namespace postern::policy
