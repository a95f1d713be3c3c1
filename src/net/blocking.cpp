#include "net/blocking.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <thread>

namespace postern::net {

namespace detail {
void yield_to_io_threads() {
  // Pool threads run at nice 5 (about a third of an I/O thread's CFS weight):
  // on a busy machine an I/O thread that has a reply to write or a command to
  // read gets the CPU before a pool thread's SQLite work, so a NOOP is not
  // kept waiting behind other users' commits. Idle CPU still goes to the pool.
  thread_local bool lowered = [] {
    ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 5);
    return true;
  }();
  (void)lowered;
}
}  // namespace detail

asio::thread_pool& blocking_pool() {
  // Disk work waits on fsync more than it computes: more threads than cores
  // let concurrent deliveries share group commits, and IMAP sessions'
  // STORE/EXPUNGE commits (one fsync each) not queue behind each other: at 8
  // threads, 50 imaptest clients were capped by the pool.
  static asio::thread_pool pool(32);
  return pool;
}

asio::thread_pool& reading_pool() {
  // Reads wait on the disk only when the page cache misses; a few threads
  // per core keep a miss from holding up the others. Under 50 busy imaptest
  // clients a probe's SELECT waited a median 16 ms in the shared pool's
  // queue, behind commits sitting in fsync.
  static asio::thread_pool pool(std::max(4u, 4 * std::thread::hardware_concurrency()));
  return pool;
}

asio::thread_pool& cpu_pool() {
  // One thread per core at most: hashing is pure CPU, more threads only queue.
  static asio::thread_pool pool(std::max(1u, std::thread::hardware_concurrency()));
  return pool;
}

}  // namespace postern::net
