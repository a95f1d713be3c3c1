// Protocol logs in Exchange 2013+'s CSV form, one folder per protocol
// (data_dir/logs/pop3/POP3-20261206-1.LOG), so the queries administrators
// already run against Exchange's logs keep working:
//
//   #Fields:
//   dateTime,sessionId,seqNumber,sIp,cIp,user,duration,rqsize,rpsize,command,parameters,context
//
// They can never fill a disk or slow a session:
//  - a line is queued in memory (at most queue_bytes per protocol) and a
//    thread of its own writes it; a full queue or a failed write (a full disk)
//    drops the line and counts it, never waits;
//  - files roll at midnight UTC and at max_file_size; the folder is kept under
//    max_directory_size and max_age by removing the oldest files.
//
// Threads: append() and configure() from any thread; the writer thread is
// started by the constructor and joined by the destructor (after writing what
// is queued).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace postern::observe {

struct protocol_log_limits {
  bool enabled = false;
  uint64_t max_file_size = 10ull << 20;
  uint64_t max_directory_size = 100ull << 20;
  std::chrono::seconds max_age{30 * 86400};
};

// One line's fields, as the CSV header names them.
struct protocol_log_line {
  std::chrono::system_clock::time_point time;
  std::string_view session_id;
  uint64_t seq = 0;
  std::string_view server;  // "127.0.0.1:995"
  std::string_view client;  // "192.0.2.7:51234"
  std::string_view user;
  uint64_t duration_ms = 0;
  uint64_t request_bytes = 0;
  uint64_t reply_bytes = 0;
  std::string_view command;
  std::string_view parameters;  // already masked
  std::string_view context;     // "R=ok", or the refusal with its code and reason
};

// One CSV field: quoted when it holds a comma, a quote or a space at an end;
// control bytes are escaped, so a client can never add a line.
std::string csv_field(std::string_view v);
std::string format_line(const protocol_log_line& l);
inline constexpr std::string_view protocol_log_fields =
    "dateTime,sessionId,seqNumber,sIp,cIp,user,duration,rqsize,rpsize,command,parameters,context";

class protocol_log {
 public:
  // Logs go to root/<protocol>/.
  explicit protocol_log(std::string root, size_t queue_bytes = 4u << 20);
  ~protocol_log();
  protocol_log(const protocol_log&) = delete;
  protocol_log& operator=(const protocol_log&) = delete;

  // Live settings for one protocol (the node's watcher calls it).
  void configure(std::string_view protocol, const protocol_log_limits& limits);
  // Cheap: whether lines of this protocol (or of any) are wanted now.
  bool enabled(std::string_view protocol) const;
  bool any_enabled() const { return any_enabled_.load(std::memory_order_relaxed); }

  // Queues a formatted line; false (and counted) when it was dropped.
  bool append(std::string_view protocol, std::string line);

  uint64_t dropped() const { return dropped_.load(); }
  uint64_t written() const { return written_.load(); }
  const std::string& root() const { return root_; }
  // Waits until every line queued so far was written or dropped (tests, shutdown).
  void flush();

 private:
  struct stream;
  void run();
  void write_batch(stream& s, std::vector<std::string>& lines);
  void open_file(stream& s, std::chrono::system_clock::time_point now);
  void prune(stream& s);

  std::string root_;
  size_t queue_bytes_;
  mutable std::mutex mu_;
  std::condition_variable wake_, idle_;
  std::map<std::string, stream*, std::less<>> streams_;
  std::atomic<bool> any_enabled_{false};
  std::atomic<uint64_t> dropped_{0}, written_{0};
  uint64_t queued_generation_ = 0, written_generation_ = 0;
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace postern::observe
