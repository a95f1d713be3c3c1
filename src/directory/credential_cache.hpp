// Remembers recent successful logins so that a client polling every minute
// (fetchmail, Outlook) does not pay a memory-hard yescrypt check (about 23 ms
// and 16 MiB) each time, as Dovecot's auth cache does.
//
// What is kept per user: the stored hash the check was made against (a
// password change or removal invalidates the entry) and an HMAC-SHA256 of the
// password under a random key that lives only in this process. Failed logins
// are never cached, so guessing still costs a full check.
//
// Threads: thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace postern::directory {

class credential_cache {
 public:
  using clock = std::chrono::steady_clock;

  explicit credential_cache(clock::duration ttl = std::chrono::minutes(15),
                            size_t max_entries = 100000);

  // True when `password` was verified for `address` against exactly
  // `stored_hash` within the time to live.
  bool matches(std::string_view address, std::string_view stored_hash, std::string_view password,
               clock::time_point now = clock::now());
  void remember(std::string_view address, std::string_view stored_hash, std::string_view password,
                clock::time_point now = clock::now());

 private:
  using digest = std::array<unsigned char, 32>;
  struct entry {
    std::string stored_hash;
    digest mac;
    clock::time_point expires;
  };
  digest mac_of(std::string_view password) const;

  clock::duration ttl_;
  size_t max_entries_;
  std::array<unsigned char, 32> key_;
  std::mutex mu_;
  std::unordered_map<std::string, entry> entries_;
};

}  // namespace postern::directory
