// Change notification for one mailbox. The store calls notify() after every
// committed change; sessions of any protocol subscribe to learn about new or
// expunged messages (IMAP IDLE, pending EXISTS/EXPUNGE).
//
// Threads: all methods are thread-safe. Callbacks run on the thread that
// called notify(), outside the notifier's lock: they must only post work to
// their own executor.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

namespace postern::store {

class notifier {
 public:
  using callback = std::function<void(uint64_t version)>;

  uint64_t version() const;
  // Returns an id for unsubscribe(); the callback runs after each change until then.
  uint64_t subscribe(callback cb);
  void unsubscribe(uint64_t id);
  void notify();
  bool has_subscribers() const;

 private:
  mutable std::mutex mu_;
  uint64_t version_ = 0;
  uint64_t next_id_ = 1;
  std::map<uint64_t, callback> subscribers_;
};

}  // namespace postern::store
