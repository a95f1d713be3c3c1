#include "net/work_pool.hpp"

#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace postern::net {

namespace {
// SCHED_BATCH (sched(7)): a woken worker never preempts the running thread,
// so an I/O thread that hands out work keeps its CPU and goes on serving its
// sessions; it still gets its fair share of CPU time. Nice 5 (about a third
// of an I/O thread's weight): on a busy machine a reply to send or a command
// to read comes before a pool thread's SQLite work. Idle CPU still goes to
// the pool. Both are best effort: a refusal only loses the preference.
void lower_priority() {
  sched_param p{};
  ::sched_setscheduler(0, SCHED_BATCH, &p);
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 5);
}
}  // namespace

struct work_pool::state {
  std::mutex mu;
  std::deque<std::unique_ptr<task>> queue;  // guarded by mu
  bool stopping = false;                    // guarded by mu
  // Idle workers sleep on a futex: `posted` counts posts, `sleepers` the
  // workers asleep or about to be. (libstdc++ 12's counting_semaphore wakes
  // a waiter only when the count leaves zero, which ran queued tasks one at
  // a time.)
  std::atomic<uint32_t> posted{0};
  std::atomic<int> sleepers{0};
  std::vector<std::thread> workers;

  void wake(int n) {
    ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&posted), FUTEX_WAKE_PRIVATE, n, nullptr,
              nullptr, 0);
  }

  void work() {
    lower_priority();
    for (;;) {
      uint32_t seen = posted.load();
      std::unique_ptr<task> t;
      {
        std::lock_guard lock(mu);
        if (stopping) return;
        if (!queue.empty()) {
          t = std::move(queue.front());
          queue.pop_front();
        }
      }
      if (t) {
        t->run();
        continue;
      }
      // A post after `seen` was read changes `posted`, and FUTEX_WAIT returns
      // at once; a post after this worker counted itself wakes it.
      sleepers.fetch_add(1);
      ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&posted), FUTEX_WAIT_PRIVATE, seen, nullptr,
                nullptr, 0);
      sleepers.fetch_sub(1);
    }
  }
};

work_pool::work_pool(const char* name, size_t threads) : s_(std::make_unique<state>()) {
  for (size_t i = 0; i < std::max<size_t>(threads, 1); ++i) {
    s_->workers.emplace_back([st = s_.get()] { st->work(); });
    ::pthread_setname_np(s_->workers.back().native_handle(), name);
  }
}

work_pool::~work_pool() {
  std::deque<std::unique_ptr<task>> dropped;
  {
    std::lock_guard lock(s_->mu);
    s_->stopping = true;
    dropped.swap(s_->queue);
  }
  s_->posted.fetch_add(1);
  s_->wake(INT_MAX);
  for (auto& w : s_->workers) w.join();
}

void work_pool::enqueue(std::unique_ptr<task> t) {
  {
    std::lock_guard lock(s_->mu);
    if (s_->stopping) return;  // shutting down: dropped, as queued ones are
    s_->queue.push_back(std::move(t));
  }
  s_->posted.fetch_add(1);
  if (s_->sleepers.load() > 0) s_->wake(1);
}

}  // namespace postern::net
