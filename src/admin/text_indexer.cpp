// The node's full-text indexer thread (text_indexer.hpp).
#include "admin/text_indexer.hpp"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

#include "observe/log.hpp"

namespace postern::admin {

void text_indexer::start() {
  thread_ = std::thread([this] { loop(); });
  ::pthread_setname_np(thread_.native_handle(), "postern-index");
}

void text_indexer::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void text_indexer::wake(int64_t user_id) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    // Counted as waiting until the turn says how many: the gauge must not
    // read 0 between a commit and the indexer's visit.
    auto& q = queued_[user_id];
    q = std::max<uint64_t>(q, 1);
    if (!waiting_.insert(user_id).second) return;
    order_.push_back(user_id);
  }
  cv_.notify_one();
}

uint64_t text_indexer::queued() const {
  std::lock_guard lock(mu_);
  uint64_t n = 0;
  for (auto& [id, count] : queued_) n += count;
  return n;
}

void text_indexer::sweep() {
  std::error_code ec;
  for (auto& entry : std::filesystem::directory_iterator(data_dir_ + "/mail", ec)) {
    auto name = entry.path().filename().string();
    int64_t id = 0;
    auto [end, err] = std::from_chars(name.data(), name.data() + name.size(), id);
    if (err == std::errc() && end == name.data() + name.size() && id > 0) wake(id);
  }
}

void text_indexer::index_user(int64_t user_id) {
  auto mb = store_.open(user_id);
  if (!mb) {
    observe::log(observe::level::warning, "index", "", "cannot open mailbox {} to index it: {}",
                 user_id, mb.err().message);
    std::lock_guard lock(mu_);
    queued_.erase(user_id);
    return;
  }
  for (;;) {
    uint64_t backlog = 0;
    {
      std::lock_guard lock(mu_);
      if (auto it = queued_.find(user_id); it != queued_.end()) backlog = it->second;
    }
    if (backlog > tuning_.catch_up_backlog) behind_ = true;
    if (backlog < tuning_.catch_up_backlog / 2) behind_ = false;
    set_policy(behind_);
    if (behind_) ++catch_up_turns_;
    auto turn = (*mb)->index_queued(tuning_.batch);
    if (!turn) {
      observe::log(observe::level::error, "index", "", "indexing mailbox {} failed: {} ({})",
                   user_id, turn.err().message, turn.err().detail);
      return;  // tried again at its next wake
    }
    indexed_ += turn->indexed;
    if (turn->queued == 0) {
      {
        std::lock_guard lock(mu_);
        queued_.erase(user_id);
      }
      tidy(**mb);
      return;
    }
    std::lock_guard lock(mu_);
    queued_[user_id] = turn->queued;
    // Another mailbox waiting gets its turn between batches, and fewer than
    // a batch left wait for the next gathering. This mailbox's own wake-ups
    // (each commit of a burst) do not count: had they sent it back to the
    // gathering, every 256 messages would wait 250 ms, and a burst outran
    // its indexer.
    const bool others =
        std::any_of(order_.begin(), order_.end(), [&](int64_t id) { return id != user_id; });
    if (stopping_ || others || turn->queued < tuning_.batch) {
      if (!stopping_ && waiting_.insert(user_id).second) order_.push_back(user_id);
      return;
    }
  }
}

void text_indexer::tidy(store::mailbox& mb) {
  for (;;) {
    {
      // Another mailbox's messages come first: the tidying goes on after
      // this mailbox's next turn.
      std::lock_guard lock(mu_);
      if (stopping_ || !order_.empty()) return;
    }
    auto more = mb.tidy_index();
    if (!more) {
      observe::log(observe::level::warning, "index", "",
                   "tidying a full-text index failed: {} ({})", more.err().message,
                   more.err().detail);
      return;
    }
    if (!*more) return;
    // A SEARCH waiting for the index's lock gets it between two steps (a
    // mutex is not fair: this loop would take it straight back).
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, tidy_pause, [&] { return stopping_ || !order_.empty(); });
  }
}

void text_indexer::set_policy(bool catching_up) {
  if (catching_up == at_nice_) return;
  sched_param p{};
  if (::sched_setscheduler(0, catching_up ? SCHED_OTHER : SCHED_IDLE, &p) != 0) {
    if (catching_up && !told_no_nice_) {
      told_no_nice_ = true;
      observe::log(observe::level::warning, "index", "",
                   "more than {} messages wait for a full-text index, but the indexer cannot "
                   "leave SCHED_IDLE to catch up ({}): it gets only CPU time nothing else "
                   "wants; allow nice 10 (RLIMIT_NICE >= 10: systemd LimitNICE=+10)",
                   tuning_.catch_up_backlog, std::strerror(errno));
    }
    return;
  }
  at_nice_ = catching_up;
}

void text_indexer::loop() {
  // Nice 10 while catching up: when sessions and deliveries keep every core
  // busy the index then gets about a tenth of one. Otherwise SCHED_IDLE.
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
  set_policy(false);
  sweep();
  for (;;) {
    int64_t user_id = 0;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !order_.empty(); });
      if (stopping_) return;
      cv_.wait_for(lock, gather, [&] { return stopping_; });
      if (stopping_) return;
      if (enabled_ && !enabled_()) {
        // Switched off: look again in a second, the queue as it is.
        cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; });
        continue;
      }
      user_id = order_.front();
      order_.pop_front();
      waiting_.erase(user_id);
    }
    index_user(user_id);
  }
}

}  // namespace postern::admin
