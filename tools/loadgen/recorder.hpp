// Counts what a run did: bytes, items (messages), latencies per operation and
// errors; then renders the one-line JSON result.
//
// Not thread-safe: sessions record from the single client io_context thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace loadgen {

using clock_type = std::chrono::steady_clock;

class recorder {
 public:
  void latency(std::string_view op, clock_type::duration d);
  void add_bytes(std::uint64_t n) { bytes_ += n; }
  void add_items(std::uint64_t n) { items_ += n; }
  void error(std::string_view what);
  // The data-moving part of a session (for POP3: first RETR sent to last
  // response read). transfer_s is the length of the union of these spans,
  // the time during which some session was moving data, so transfer_mb_per_s
  // leaves out connection set-up and login, also between --repeat rounds.
  void transfer(clock_type::time_point start, clock_type::time_point end);

  std::uint64_t bytes() const { return bytes_; }
  std::uint64_t items() const { return items_; }
  std::uint64_t errors() const { return errors_; }

  // Extra fields for the JSON line, already rendered as JSON values.
  void set_field(std::string key, std::string json_value);
  void set_string(std::string key, std::string_view value);

  // `elapsed` is the wall time of the measured part; CPU times come from
  // getrusage and are added by the caller via set_field.
  std::string to_json(std::string_view mode, double elapsed_seconds) const;

 private:
  std::map<std::string, std::vector<double>, std::less<>> latencies_ms_;
  std::map<std::string, std::string> fields_;
  std::vector<std::string> error_samples_;
  std::uint64_t bytes_ = 0;
  std::uint64_t items_ = 0;
  std::uint64_t errors_ = 0;
  std::vector<std::pair<clock_type::time_point, clock_type::time_point>> transfers_;
};

std::string json_string(std::string_view s);

// CPU seconds (user + system) of the whole process, or of the calling thread.
double process_cpu_seconds();
double thread_cpu_seconds();

}  // namespace loadgen
