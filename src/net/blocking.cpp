#include "net/blocking.hpp"

#include <thread>

namespace postern::net {

asio::thread_pool& blocking_pool() {
  // Disk work waits on fsync more than it computes: more threads than cores
  // let concurrent deliveries share group commits.
  static asio::thread_pool pool(8);
  return pool;
}

asio::thread_pool& cpu_pool() {
  // One thread per core at most: hashing is pure CPU, more threads only queue.
  static asio::thread_pool pool(std::max(1u, std::thread::hardware_concurrency()));
  return pool;
}

}  // namespace postern::net
