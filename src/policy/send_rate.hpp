// max_messages_per_hour per user for submission: the messages each user sent
// in the last hour, and a refusal with when the next one may go (451 4.7.0).
//
// Memory: per user at most max_messages_per_hour timestamps, and only users
// who sent in the last hour (the rest are dropped on the way).
//
// Threads: thread-safe; one mutex held for a map operation.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/clock.hpp"

namespace postern::policy {

class send_rate {
 public:
  explicit send_rate(const base::clock& clock) : clock_(clock) {}

  // Before MAIL FROM: the refusal when `user` already sent `max_per_hour`
  // messages in the last hour, naming the setting and when to try again.
  std::optional<std::string> refusal(std::string_view user, uint32_t max_per_hour);
  // After a message was accepted.
  void record(std::string_view user, uint32_t max_per_hour);
  // Messages `user` sent in the last hour (`postern user stat`).
  uint32_t sent_last_hour(std::string_view user);

 private:
  void prune_locked(std::deque<std::chrono::steady_clock::time_point>& times);
  const base::clock& clock_;
  std::mutex mu_;
  std::unordered_map<std::string, std::deque<std::chrono::steady_clock::time_point>> sent_;
  size_t calls_ = 0;
};

}  // namespace postern::policy
