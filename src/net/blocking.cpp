#include "net/blocking.hpp"

#include <thread>

namespace postern::net {

asio::thread_pool& blocking_pool() {
  // Disk work waits on fsync more than it computes: more threads than cores
  // let concurrent deliveries share group commits, and IMAP sessions'
  // STORE/EXPUNGE commits (one fsync each) not queue behind each other: at 8
  // threads, 50 imaptest clients were capped by the pool.
  static asio::thread_pool pool(32);
  return pool;
}

asio::thread_pool& cpu_pool() {
  // One thread per core at most: hashing is pure CPU, more threads only queue.
  static asio::thread_pool pool(std::max(1u, std::thread::hardware_concurrency()));
  return pool;
}

}  // namespace postern::net
