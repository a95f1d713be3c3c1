// The node's counters and histograms, rendered as OpenMetrics text for
// `GET /metrics` (names `postern_*`, Prometheus conventions: counters end in
// _total, durations in seconds, bytes in bytes).
//
// What sessions report here costs a lock and a map lookup per command, never
// I/O. Gauges that are a count of something the node already holds (sessions,
// component states, log drops) are not kept here: the scrape passes them in.
//
// Threads: thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace postern::observe {

// One sample of a gauge or counter the caller computed at scrape time.
struct sample {
  std::string family;  // "postern_connections"
  std::string type;    // "gauge" or "counter" (then the sample is family + "_total")
  std::string help;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

class metrics {
 public:
  // Seconds; the last bucket is +Inf.
  static constexpr std::array<double, 10> buckets = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                     0.025,  0.05,  0.1,    0.5,   2.5};

  // After every command: `result` is its first reply code (+OK, -ERR, OK, NO,
  // BAD, 250, 452 ...).
  void count_command(std::string_view protocol, std::string_view verb, std::string_view result,
                     std::chrono::microseconds duration, uint64_t bytes_in, uint64_t bytes_out);
  // After every login attempt: `result` is ok, failed, blocked, user_limit,
  // disabled or unavailable.
  void count_login(std::string_view protocol, std::string_view result);
  // The health monitor's probes, and the component states it set.
  void count_health(std::string_view protocol, bool ok);
  void count_health_change(std::string_view protocol, std::string_view state);
  void count_retention(uint64_t expunged);
  // Each durable commit of new messages (store::set_commit_listener).
  void count_store_commit(std::chrono::microseconds duration);

  // OpenMetrics text: what is kept here, then `extra`, then "# EOF".
  std::string render(const std::vector<sample>& extra) const;

 private:
  struct histogram {
    std::array<uint64_t, buckets.size() + 1> counts{};
    double sum = 0;
    uint64_t count = 0;
  };
  struct command_key {
    std::string protocol, verb, result;
    auto operator<=>(const command_key&) const = default;
  };

  mutable std::mutex mu_;
  std::map<command_key, uint64_t> commands_;
  std::map<std::pair<std::string, std::string>, histogram, std::less<>> durations_;
  std::map<std::string, std::pair<uint64_t, uint64_t>, std::less<>> bytes_;  // in, out
  std::map<std::pair<std::string, std::string>, uint64_t> logins_;
  std::map<std::string, uint64_t, std::less<>> deliveries_;  // by result
  std::map<std::pair<std::string, std::string>, uint64_t> health_, health_changes_;
  histogram delivery_duration_;
  histogram store_commit_;
  uint64_t retention_expunged_ = 0;
};

// "-ERR" -> "err", "250" -> "2xx": a command's outcome as a label value.
std::string result_label(std::string_view code);
// Label value escaping (backslash, quote, newline) per the OpenMetrics text format.
std::string label_value(std::string_view v);

}  // namespace postern::observe
