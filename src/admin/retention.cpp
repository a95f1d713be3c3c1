#include "admin/retention.hpp"

#include <fmt/format.h>
#include <pthread.h>
#include <unistd.h>

#include <map>

#include "directory/directory.hpp"
#include "directory/settings_schema.hpp"
#include "observe/log.hpp"
#include "observe/metrics.hpp"
#include "store/store.hpp"

namespace postern::admin {

std::optional<int64_t> parse_retention(const std::string& text) {
  if (text == "never") return 0;
  auto s = directory::parse_duration(text);
  if (!s || *s <= 0) return std::nullopt;
  return *s;
}

std::string format_retention(int64_t s) {
  if (s == 0) return "never";
  if (s % 86400 == 0) return fmt::format("{}d", s / 86400);
  if (s % 3600 == 0) return fmt::format("{}h", s / 3600);
  if (s % 60 == 0) return fmt::format("{}min", s / 60);
  return fmt::format("{}s", s);
}

std::vector<retention_result> apply_retention(directory::directory& dir, store::store& mail,
                                              const std::string& data_dir,
                                              std::chrono::system_clock::time_point now) {
  std::vector<retention_result> out;
  auto rules = dir.retention_rules();
  if (!rules) {
    out.push_back({"", "", 0, 0, rules.err().message});
    return out;
  }
  std::map<std::string, int64_t> for_all;
  std::map<int64_t, std::map<std::string, int64_t>> own;
  for (auto& r : *rules) (r.user_id == 0 ? for_all : own[r.user_id])[r.folder] = r.seconds;
  auto users = dir.list_users();
  if (!users) {
    out.push_back({"", "", 0, 0, users.err().message});
    return out;
  }
  auto epoch = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  for (auto& u : *users) {
    auto effective = for_all;
    for (auto& [folder, seconds] : own[u.id]) effective[folder] = seconds;
    // A mailbox nobody ever opened has nothing to expire: do not create it.
    auto index = fmt::format("{}/mail/{}/index.sqlite", data_dir, u.id);
    if (effective.empty() || ::access(index.c_str(), F_OK) != 0) continue;
    auto box = mail.open(u.id);
    if (!box) {
      out.push_back({u.address, "", 0, 0, box.err().message});
      continue;
    }
    for (auto& [folder, seconds] : effective) {
      if (seconds <= 0) continue;
      auto messages = (*box)->list(folder);
      if (!messages) {
        if (messages.err().code != base::errc::not_found)
          out.push_back({u.address, folder, seconds, 0, messages.err().message});
        continue;
      }
      std::vector<uint32_t> old;
      for (auto& m : *messages) {
        auto saved = m.save_date ? m.save_date : m.internal_date;
        if (saved + seconds < epoch) old.push_back(m.uid);
      }
      if (old.empty()) continue;
      auto n = (*box)->expunge(folder, old);
      if (!n) {
        out.push_back({u.address, folder, seconds, 0, n.err().message});
        continue;
      }
      out.push_back({u.address, folder, seconds, *n, ""});
      observe::log(observe::level::info, "retention", "",
                   "expunged {} message(s) saved more than {} ago from {}'s {} (--expunge-after)",
                   *n, format_retention(seconds), u.address, folder);
    }
  }
  return out;
}

retention_schedule::retention_schedule(directory::directory& dir, store::store& mail,
                                       std::string data_dir, observe::metrics* metrics)
    : dir_(dir), mail_(mail), data_dir_(std::move(data_dir)), metrics_(metrics) {
  thread_ = std::thread([this] { run(); });
  ::pthread_setname_np(thread_.native_handle(), "postern-retain");
}

retention_schedule::~retention_schedule() { stop(); }

void retention_schedule::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void retention_schedule::run() {
  std::unique_lock lock(mu_);
  auto next = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (!stopping_) {
    wake_.wait_until(lock, next, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    uint64_t total = 0;
    for (auto& r : apply_retention(dir_, mail_, data_dir_, std::chrono::system_clock::now())) {
      total += r.expunged;
      if (!r.error.empty())
        observe::log(observe::level::error, "retention", "", "{} {}: {}", r.user, r.folder,
                     r.error);
    }
    if (metrics_) metrics_->count_retention(total);
    lock.lock();
    next = std::chrono::steady_clock::now() + std::chrono::hours(1);
  }
}

}  // namespace postern::admin
