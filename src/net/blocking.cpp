#include "net/blocking.hpp"

namespace postern::net {

asio::thread_pool& blocking_pool() {
  // Disk work waits on fsync more than it computes: more threads than cores
  // let concurrent deliveries share group commits.
  static asio::thread_pool pool(8);
  return pool;
}

}  // namespace postern::net
