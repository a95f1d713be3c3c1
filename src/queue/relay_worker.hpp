// The outbound queue's worker: every second (or at once when woken by a new
// message or `postern queue flush`) it takes the recipients that are due and
// relays them through the smarthost, one thread per recipient domain (at
// most max_parallel_domains at a time), so one slow domain never holds the
// others back, each with up to connections_per_domain connections that carry
// one message after another.
//
// Outcomes: 2xx sent; 5xx failed, with a bounce (RFC 3464) to the sender;
// 4xx or no reply retried after 1 min, doubling up to 1 h, until
// queue_lifetime has passed since the message came (then failed and
// bounced); a delay warning once, after delay_warning. Each outcome is a log
// line and a counter.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "observe/metrics.hpp"
#include "queue/dsn.hpp"
#include "queue/queue_store.hpp"
#include "queue/relay_client.hpp"

namespace postern::queue {

struct queue_policy {
  std::chrono::seconds lifetime{5 * 86400};
  std::chrono::seconds delay_warning{4 * 3600};
};

// The wait before attempt number `attempts + 1` after `attempts` failed ones.
std::chrono::seconds retry_delay(uint32_t attempts);

class relay_worker {
 public:
  // Hands a report to the sender: stores it in their mailbox when the
  // address is local, else queues it with the null sender.
  using report_sink = std::function<base::status(const queued_message& about, std::string report)>;

  relay_worker(queue_store& q, relay_config cfg, std::string hostname,
               std::function<queue_policy()> policy, report_sink reports);
  ~relay_worker();
  relay_worker(const relay_worker&) = delete;
  relay_worker& operator=(const relay_worker&) = delete;

  void start();
  void stop();
  // Runs a turn now instead of at the next second.
  void wake();

  const relay_config& config() const { return cfg_; }
  // For GET /metrics: queue depth, oldest entry's age, relay outcomes.
  std::vector<observe::sample> samples();

  static constexpr size_t max_parallel_domains = 8;
  // Connections to the relay per domain at once, each carrying message after
  // message (Postfix's default_destination_concurrency_limit is 20).
  static constexpr size_t connections_per_domain = 8;

 private:
  void loop();
  void turn();
  void relay_domain(std::vector<queued_message> batch);
  // Every step-th message of the batch from `first`, over one connection.
  void lane(const std::vector<queued_message>& batch, size_t first, size_t step,
            const base::result<std::string>& password);
  // `session` is null when the password file could not be read (`why`).
  void handle(const queued_message& m, relay_session* session, const std::string& why);
  void report(const queued_message& m, dsn_request::kind kind,
              const std::vector<dsn_recipient>& who, const std::string& remote, int64_t now,
              int64_t retry_until);

  queue_store& q_;
  relay_config cfg_;
  std::string hostname_;
  std::function<queue_policy()> policy_;
  report_sink reports_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;
  bool stopping_ = false;
  std::set<std::string> busy_domains_;
  std::set<relay_session*> live_sessions_;  // interrupted by stop()
  struct domain_thread {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<domain_thread> domain_threads_;
  std::thread thread_;
  std::atomic<uint64_t> sent_{0}, deferred_{0}, failed_{0}, reports_sent_{0};
  uint64_t last_logged_depth_ = UINT64_MAX;
};

}  // namespace postern::queue
