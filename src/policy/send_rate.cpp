#include "policy/send_rate.hpp"

#include <fmt/format.h>

#include "base/strings.hpp"

namespace postern::policy {

namespace {
constexpr auto hour = std::chrono::hours(1);
}

void send_rate::prune_locked(std::deque<std::chrono::steady_clock::time_point>& times) {
  auto now = clock_.steady_now();
  while (!times.empty() && now - times.front() >= hour) times.pop_front();
}

std::optional<std::string> send_rate::refusal(std::string_view user, uint32_t max_per_hour) {
  std::lock_guard lock(mu_);
  auto it = sent_.find(base::to_lower(user));
  if (it == sent_.end()) return std::nullopt;
  prune_locked(it->second);
  if (it->second.size() < max_per_hour) return std::nullopt;
  auto wait = hour - (clock_.steady_now() - it->second.front());
  auto at = clock_.now() + std::chrono::duration_cast<std::chrono::system_clock::duration>(wait);
  return fmt::format(
      "{} sent {} messages in the last hour, the limit (max_messages_per_hour); try again after "
      "{}",
      base::printable(user, 100), it->second.size(),
      base::format_utc_time_of_day(at + std::chrono::seconds(1)));
}

void send_rate::record(std::string_view user, uint32_t max_per_hour) {
  std::lock_guard lock(mu_);
  if (++calls_ % 1024 == 0)
    for (auto it = sent_.begin(); it != sent_.end();) {
      prune_locked(it->second);
      it = it->second.empty() ? sent_.erase(it) : std::next(it);
    }
  auto& times = sent_[base::to_lower(user)];
  prune_locked(times);
  times.push_back(clock_.steady_now());
  while (times.size() > max_per_hour) times.pop_front();
}

uint32_t send_rate::sent_last_hour(std::string_view user) {
  std::lock_guard lock(mu_);
  auto it = sent_.find(base::to_lower(user));
  if (it == sent_.end()) return 0;
  prune_locked(it->second);
  return static_cast<uint32_t>(it->second.size());
}

}  // namespace postern::policy
