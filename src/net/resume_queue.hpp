// How pool threads hand finished work back to an I/O thread without taking
// any lock the I/O thread needs.
//
// asio::post from a pool thread into an io_context takes the context's
// scheduler mutex. Pool threads run at a lower priority (work_pool.cpp), so
// one preempted while holding that mutex kept the I/O thread, and every
// session on it, waiting: under 50 imaptest clients the I/O threads blocked
// there about 40 times a second. Here a pool thread pushes its result onto a
// lock-free list and, when the list was empty, writes an eventfd that the
// I/O thread's reactor watches; the I/O thread runs everything on the list.
//
// The eventfd is watched only while some work is out, so an io_context with
// nothing else to do still runs out of work and returns from run().
// One thread runs each io_context (net::server, the session tests).
#pragma once

#include <atomic>
#include <memory>

#include "net/asio.hpp"

namespace postern::net::detail {

struct resumption {
  virtual ~resumption() = default;
  // On the I/O thread: resumes whoever waited for this work.
  virtual void resume() = 0;
  resumption* next = nullptr;
};

// The list and eventfd one io_context shares with the pool threads.
class resume_queue {
 public:
  resume_queue();
  ~resume_queue();
  resume_queue(const resume_queue&) = delete;
  resume_queue& operator=(const resume_queue&) = delete;

  // Any thread: queues `r` to run on the I/O thread.
  void deliver(std::unique_ptr<resumption> r);

  // The I/O thread side (resume_service).
  int fd() const { return fd_; }
  resumption* take_all();  // in delivery order
  void close();            // the io_context is gone: later deliveries are dropped

 private:
  int fd_;
  std::atomic<resumption*> head_{nullptr};
  std::atomic<bool> closed_{false};
};

// On the I/O thread, when work is handed to a pool: the queue of the
// io_context that `ex` runs on, watched until that work comes back. Null when
// `ex` is not an io_context's executor (the caller then posts through asio).
std::shared_ptr<resume_queue> expect_resumption(const asio::any_io_executor& ex);

}  // namespace postern::net::detail
