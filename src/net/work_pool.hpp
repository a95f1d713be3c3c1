// A fixed set of worker threads taking tasks from one queue, for the blocking,
// reading and CPU pools of net/blocking.hpp.
//
// Why not asio::thread_pool: its idle threads wait on a pthread condition
// variable, and glibc's pthread_cond_signal can itself sleep until earlier
// waiters have been scheduled. An I/O thread handing a command to the pool
// then waited for low-priority pool threads to run, and every other session
// of that I/O thread waited with it (under 50 imaptest clients a NOOP took a
// median 9 ms). Here a post is a short critical section and a
// futex wake, which never sleeps.
//
// Workers run as SCHED_BATCH at nice 5 (see work_pool.cpp), so waking one
// never preempts the I/O thread that woke it.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

namespace postern::net {

class work_pool {
 public:
  struct task {
    virtual ~task() = default;
    virtual void run() = 0;
  };

  // `name` names the threads (ps, top -H; at most 15 characters).
  work_pool(const char* name, size_t threads);
  // Lets running tasks finish, drops queued ones and joins the workers.
  ~work_pool();
  work_pool(const work_pool&) = delete;
  work_pool& operator=(const work_pool&) = delete;

  // Queues `f` (a move-only callable is fine) to run once on a worker.
  template <class F>
  void post(F f) {
    struct holder final : task {
      F fn;
      explicit holder(F&& x) : fn(std::move(x)) {}
      void run() override { fn(); }
    };
    enqueue(std::make_unique<holder>(std::move(f)));
  }

 private:
  void enqueue(std::unique_ptr<task> t);
  struct state;
  std::unique_ptr<state> s_;
};

}  // namespace postern::net
