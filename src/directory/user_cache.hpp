// Recently looked-up users, so that LMTP RCPT (and later submission) can
// answer from memory on an I/O thread instead of taking a trip to the
// blocking pool for a SQLite read. An entry is a hint, not the truth: it is
// dropped whenever the directory changes (the node polls its version), and a
// delivery looks the recipient up again, authoritatively, in the same trip
// that commits the message. Unknown addresses are never cached.
//
// Threads: thread-safe; find() never blocks on anything but a short mutex.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "directory/directory.hpp"

namespace postern::directory {

class user_cache {
 public:
  explicit user_cache(size_t max_entries = 100000) : max_(max_entries) {}

  std::optional<user_record> find(std::string_view address);
  void put(const user_record& user);  // the password hash is not kept
  // Forgets everything when `directory_version` differs from the last one seen.
  void invalidate_if_changed(uint64_t directory_version);

 private:
  std::mutex mu_;
  size_t max_;
  uint64_t version_ = 0;
  std::unordered_map<std::string, user_record> users_;
};

}  // namespace postern::directory
