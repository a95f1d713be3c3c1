// Failed-login defence shared by POP3, IMAP and SMTP submission, in the manner
// of Dovecot's auth penalty and anvil: every failure makes the next answer to
// that address and to that account slower, and an address that fails too often
// is refused outright for a while, with a refusal that says so and until when.
//
// Only addresses are ever refused. Refusing an account would let anyone lock a
// victim out by guessing wrong on purpose; the account's count only slows the
// answers (so guessing from many addresses at one account stays slow).
//
// Memory: at most max_tracked addresses and accounts together (the least
// recently failed go first) and at most max_kept_failures timestamps each;
// entries whose failures have all left the window are dropped by the next
// call. An attacker rotating addresses or account names cannot grow it.
//
// Threads: thread-safe; one mutex, held for a few map operations, no I/O.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/clock.hpp"

namespace postern::policy {

struct login_defence_settings {
  std::chrono::milliseconds first_delay{2000};  // login_failure_delay; 0 = no delay
  std::chrono::milliseconds max_delay{15000};   // login_failure_delay_max
  uint32_t block_threshold = 10;                // login_block_threshold; 0 = never block
  std::chrono::seconds window{600};             // login_block_window
};

struct login_refusal {
  std::chrono::system_clock::time_point until;  // exact; the message rounds up to the second
  // "Too many failed logins from 192.0.2.7: try again after 14:05:00Z"
  std::string message;
};

class login_defence {
 public:
  // Timestamps kept per entry; a block_threshold above this counts as this.
  static constexpr uint32_t max_kept_failures = 100;
  // Account names are compared lower-cased and cut to this many bytes.
  static constexpr size_t max_key_length = 320;

  // `clock` must outlive this object. max_tracked below 2 counts as 2 (one
  // address and one account).
  explicit login_defence(const base::clock& clock, size_t max_tracked = 100000);

  // Before a password is checked. A value means: refuse this attempt with the
  // message, and do not check the password. Refused attempts are not counted.
  std::optional<login_refusal> check(std::string_view remote_ip,
                                     const login_defence_settings& settings);

  // After a failed attempt, whether the password was wrong or the user
  // unknown (the same answer for both). Returns how long to wait before
  // answering: first_delay * 2^(n-1), at most max_delay, where n is the larger
  // of this address's and this account's failures within the window,
  // counting this one.
  std::chrono::milliseconds record_failure(std::string_view remote_ip, std::string_view account,
                                           const login_defence_settings& settings);

  // After a successful login: forgets the account's failures. The address's
  // stay, so one good login does not reset a guessing run from that address.
  void record_success(std::string_view remote_ip, std::string_view account);

  // Addresses plus accounts held now, for tests of the memory bound.
  size_t tracked() const;

  // What the defence holds now (`postern block list`, `user stat`): each
  // address and account with failures inside the window, and until when an
  // address is refused under these settings.
  struct tracked_entry {
    bool is_address = false;
    std::string name;     // the address, or the account lower-cased
    size_t failures = 0;  // since first_failure (the entry lives while failures keep coming)
    std::chrono::system_clock::time_point first_failure, last_failure;
    std::optional<std::chrono::system_clock::time_point> blocked_until;
  };
  std::vector<tracked_entry> list(const login_defence_settings& s);
  // Forgets an address's or an account's failures (`postern block clear`);
  // false when none were held.
  bool clear(std::string_view address_or_account);

 private:
  using steady_time = std::chrono::steady_clock::time_point;

  struct entry {
    std::string key;
    std::vector<steady_time> failures;  // oldest first
    steady_time expires;                // when the newest failure leaves the window
    // Every failure since the entry appeared (an account keeps only enough
    // timestamps to pick the delay), and when the first came: for `block list`.
    uint64_t recorded = 0;
    steady_time first{};
  };
  // Most recently failed first. Since failures are recorded in steady time
  // order, `expires` falls from front to back (while the window setting holds),
  // so expired entries gather at the back.
  using entry_list = std::list<entry>;

  void drop_expired_locked(steady_time now);
  // The entry with its failures older than `window` dropped; end() if none
  // is left.
  entry_list::iterator find_locked(const std::string& key, steady_time now,
                                   std::chrono::seconds window);
  size_t add_failure_locked(std::string key, steady_time now, const login_defence_settings& s,
                            size_t keep);
  void erase_locked(entry_list::iterator it);

  const base::clock& clock_;
  const size_t max_tracked_;
  mutable std::mutex mu_;
  entry_list entries_;
  // Keys view the strings inside entries_, whose nodes never move.
  std::unordered_map<std::string_view, entry_list::iterator> index_;
};

}  // namespace postern::policy
