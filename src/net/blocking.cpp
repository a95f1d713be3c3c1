#include "net/blocking.hpp"

#include <thread>

namespace postern::net {

work_pool& blocking_pool() {
  // Disk work waits on fsync more than it computes: more threads than cores
  // let concurrent deliveries share group commits, and IMAP sessions'
  // STORE/EXPUNGE commits (one fsync each) not queue behind each other: at 8
  // threads, 50 imaptest clients were capped by the pool.
  static work_pool pool("postern-disk", 32);
  return pool;
}

work_pool& reading_pool() {
  // Reads wait on the disk only when the page cache misses; a few threads
  // per core keep a miss from holding up the others. Under 50 busy imaptest
  // clients a probe's SELECT waited a median 16 ms in the shared pool's
  // queue, behind commits sitting in fsync.
  static work_pool pool("postern-read", std::max(4u, 4 * std::thread::hardware_concurrency()));
  return pool;
}

work_pool& cpu_pool() {
  // One thread per core at most: hashing is pure CPU, more threads only queue.
  static work_pool pool("postern-cpu", std::max(1u, std::thread::hardware_concurrency()));
  return pool;
}

}  // namespace postern::net
