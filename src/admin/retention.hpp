// Retention (seed 002's "purge the older emails"): the rules of
// `postern folder set ADDRESS|--all FOLDER --expunge-after 30d`, applied by
// the node every hour (and by `postern retention run` at once). A message is
// old when the time it was saved into the folder (RFC 8514 SAVEDATE; its
// arrival for messages from before that was kept) is older than the rule.
// Expunges go through the store like a client's, so IMAP sessions see them.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/error.hpp"

namespace postern::directory {
class directory;
}
namespace postern::store {
class store;
}
namespace postern::observe {
class metrics;
}

namespace postern::admin {

struct retention_result {
  std::string user, folder;
  int64_t seconds = 0;
  size_t expunged = 0;
  std::string error;  // when the folder could not be read or changed
};

// Applies every rule now; a user's own rule for a folder wins over the rule
// for every user. Mailboxes that were never opened are not created.
std::vector<retention_result> apply_retention(directory::directory& dir, store::store& mail,
                                              const std::string& data_dir,
                                              std::chrono::system_clock::time_point now);

// The node's hourly run (the first a minute after start), on a thread of its own.
class retention_schedule {
 public:
  retention_schedule(directory::directory& dir, store::store& mail, std::string data_dir,
                     observe::metrics* metrics);
  ~retention_schedule();
  void stop();

 private:
  void run();
  directory::directory& dir_;
  store::store& mail_;
  std::string data_dir_;
  observe::metrics* metrics_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

// "30d", "12h", "90min": seconds; "never" 0; nullopt when malformed.
std::optional<int64_t> parse_retention(const std::string& text);
std::string format_retention(int64_t seconds);

}  // namespace postern::admin
