// Per-user throttling budgets, with Exchange's four knobs (seed 002's
// PopMaxConcurrency, PopMaxBurst, PopRechargeRate, PopCutoffBalance), one
// budget per user and protocol:
//
// - The balance is server time in milliseconds. It starts full at max_burst,
//   every command spends the server time it took (time waiting for the
//   client's bytes is not server time), and it recharges at recharge_rate
//   milliseconds per hour of wall time, never above max_burst.
// - A balance below zero delays the next command until the recharge brings it
//   back to zero (at most max_delay per command): a busy client slows down.
// - A balance below -cutoff_balance refuses commands, and logins, until it
//   recharges to zero; the refusal says when that is.
// - max_concurrency: commands of one user running at once (Exchange: "held
//   from the moment a request is received until a response is sent"); one
//   more waits for a slot, at most max_delay, then is refused.
//
// Memory: one account per user and protocol that logged in; accounts that are
// full again and held by no session are dropped on the way.
//
// Threads: thread-safe. An account has its own mutex, so the per-command cost
// is one uncontended lock; the table's mutex is taken at login only.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/clock.hpp"

namespace postern::policy {

struct budget_settings {
  uint32_t max_concurrency = 20;
  std::chrono::milliseconds max_burst{300000};
  std::chrono::milliseconds recharge_rate{900000};  // per hour
  std::chrono::milliseconds cutoff_balance{600000};
};

// The longest a command is held back before it runs or is refused.
inline constexpr std::chrono::milliseconds max_delay{5000};

struct budget_verdict {
  enum class kind { run, wait, refuse } what = kind::run;
  std::chrono::milliseconds wait{0};  // wait: how long before asking again
  // refuse: why, naming the budget and the knob, and until when
  std::string message;
  std::chrono::system_clock::time_point retry_at{};
};

class budgets;

class budget_account {
 public:
  budget_account(budgets& owner, std::string protocol, std::string user, const base::clock& clock,
                 const budget_settings& s);

  // Before a command; `waited` is how long this command was already held
  // back (a negative balance delays a command once). `run` takes a
  // concurrency slot that done() gives back; after `wait`, ask again.
  budget_verdict begin(const budget_settings& s, std::chrono::milliseconds waited);
  // After a command that began with `run`: spends its server time.
  void done(std::chrono::microseconds server_time, const budget_settings& s);
  // At login: the refusal when the balance is below the cutoff.
  std::optional<budget_verdict> login_refusal(const budget_settings& s);

  struct snapshot {
    std::string protocol, user;
    int64_t balance_ms = 0;
    uint32_t running = 0;
    uint64_t delayed = 0, refused = 0;
    std::chrono::system_clock::time_point refused_until{};  // past when not refused
  };
  snapshot state(const budget_settings& s);
  const std::string& protocol() const { return protocol_; }
  const std::string& user() const { return user_; }

 private:
  friend class budgets;
  void recharge_locked(const budget_settings& s);
  budget_verdict refusal_locked(const budget_settings& s);
  bool full_and_idle(const budget_settings& s);

  budgets& owner_;
  std::string protocol_, user_;
  const base::clock& clock_;
  std::mutex mu_;
  double balance_ms_;
  std::chrono::steady_clock::time_point updated_;
  uint32_t running_ = 0;
  bool cut_off_ = false;  // fell below -cutoff_balance; stays until back at zero
  uint64_t delayed_ = 0, refused_ = 0;
};

class budgets {
 public:
  explicit budgets(const base::clock& clock) : clock_(clock) {}

  // The user's account for this protocol (made full on first use).
  std::shared_ptr<budget_account> account(std::string_view protocol, std::string_view user,
                                          const budget_settings& s);
  // For `user stat`: the account if the user has one now.
  std::shared_ptr<budget_account> find(std::string_view protocol, std::string_view user);

  // Totals for metrics: commands delayed and refused, by protocol.
  struct totals {
    uint64_t delayed = 0, refused = 0;
  };
  std::map<std::string, totals> counters();

 private:
  friend class budget_account;
  // Accounts count each delay and refusal here, so totals outlive them.
  void count(std::string_view protocol, bool refused);

  const base::clock& clock_;
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<budget_account>> accounts_;
  std::map<std::string, totals, std::less<>> totals_;
  size_t since_prune_ = 0;
};

}  // namespace postern::policy
