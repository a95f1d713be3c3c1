#include "policy/budgets.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "base/strings.hpp"

namespace postern::policy {

namespace {

using std::chrono::milliseconds;

// How long a concurrency wait sleeps before asking again.
constexpr milliseconds slot_poll{20};
// Accounts are checked for dropping once per this many account() calls.
constexpr size_t prune_every = 256;

double per_ms(const budget_settings& s) {
  return static_cast<double>(s.recharge_rate.count()) / 3'600'000.0;
}

// Wall time until `deficit_ms` has recharged, rounded up to the millisecond.
milliseconds recharge_time(double deficit_ms, const budget_settings& s) {
  double rate = std::max(per_ms(s), 1e-9);
  return milliseconds(static_cast<int64_t>(std::ceil(std::max(deficit_ms, 0.0) / rate)));
}

}  // namespace

budget_account::budget_account(budgets& owner, std::string protocol, std::string user,
                               const base::clock& clock, const budget_settings& s)
    : owner_(owner),
      protocol_(std::move(protocol)),
      user_(std::move(user)),
      clock_(clock),
      balance_ms_(static_cast<double>(s.max_burst.count())),
      updated_(clock.steady_now()) {}

void budget_account::recharge_locked(const budget_settings& s) {
  auto now = clock_.steady_now();
  auto elapsed = std::chrono::duration<double, std::milli>(now - updated_).count();
  updated_ = now;
  double cap = static_cast<double>(s.max_burst.count());
  // A lowered max_burst takes effect at once; a raised one fills by recharge.
  balance_ms_ = std::min(cap, balance_ms_ + std::max(elapsed, 0.0) * per_ms(s));
  if (cut_off_ && balance_ms_ >= 0) cut_off_ = false;
  if (balance_ms_ < -static_cast<double>(s.cutoff_balance.count())) cut_off_ = true;
}

budget_verdict budget_account::refusal_locked(const budget_settings& s) {
  budget_verdict v;
  v.what = budget_verdict::kind::refuse;
  auto wait = recharge_time(-balance_ms_, s);
  v.retry_at = clock_.now() + wait;
  v.wait = wait;
  v.message = fmt::format(
      "{}'s {} budget is spent: its balance is {} ms of server time, below cutoff_balance "
      "({} ms); it recharges {} ms per hour (recharge_rate): try again after {}",
      base::printable(user_, 100), base::to_upper(protocol_),
      static_cast<int64_t>(std::floor(balance_ms_)), -s.cutoff_balance.count(),
      s.recharge_rate.count(), base::format_utc_time_of_day(v.retry_at + std::chrono::seconds(1)));
  return v;
}

budget_verdict budget_account::begin(const budget_settings& s, milliseconds waited) {
  budget_verdict v;
  bool delayed = false, refused = false;
  {
    std::lock_guard lock(mu_);
    recharge_locked(s);
    if (cut_off_) {
      v = refusal_locked(s);
    } else if (running_ >= s.max_concurrency) {
      if (waited >= max_delay) {
        v.what = budget_verdict::kind::refuse;
        v.retry_at = clock_.now();
        v.message = fmt::format(
            "{} already has {} {} commands running (max_concurrency of the budget), and none "
            "finished within {} s; try again when one has",
            base::printable(user_, 100), running_, base::to_upper(protocol_),
            max_delay.count() / 1000);
      } else {
        v.what = budget_verdict::kind::wait;
        v.wait = slot_poll;
        delayed = waited.count() == 0;
      }
    } else if (balance_ms_ < 0 && waited.count() == 0) {
      v.what = budget_verdict::kind::wait;
      v.wait = std::min(max_delay, std::max(milliseconds(1), recharge_time(-balance_ms_, s)));
      delayed = true;
    } else {
      ++running_;
    }
    if (v.what == budget_verdict::kind::refuse) {
      ++refused_;
      refused = true;
    }
    if (delayed) ++delayed_;
  }
  if (delayed || refused) owner_.count(protocol_, refused);
  return v;
}

void budget_account::done(std::chrono::microseconds server_time, const budget_settings& s) {
  std::lock_guard lock(mu_);
  recharge_locked(s);
  if (running_ > 0) --running_;
  balance_ms_ -= static_cast<double>(server_time.count()) / 1000.0;
  if (balance_ms_ < -static_cast<double>(s.cutoff_balance.count())) cut_off_ = true;
}

std::optional<budget_verdict> budget_account::login_refusal(const budget_settings& s) {
  std::optional<budget_verdict> v;
  {
    std::lock_guard lock(mu_);
    recharge_locked(s);
    if (!cut_off_) return std::nullopt;
    v = refusal_locked(s);
    ++refused_;
  }
  owner_.count(protocol_, true);
  return v;
}

budget_account::snapshot budget_account::state(const budget_settings& s) {
  std::lock_guard lock(mu_);
  recharge_locked(s);
  snapshot out;
  out.protocol = protocol_;
  out.user = user_;
  out.balance_ms = static_cast<int64_t>(std::floor(balance_ms_));
  out.running = running_;
  out.delayed = delayed_;
  out.refused = refused_;
  if (cut_off_) out.refused_until = clock_.now() + recharge_time(-balance_ms_, s);
  return out;
}

bool budget_account::full_and_idle(const budget_settings& s) {
  std::lock_guard lock(mu_);
  recharge_locked(s);
  return running_ == 0 && !cut_off_ && balance_ms_ >= static_cast<double>(s.max_burst.count());
}

std::shared_ptr<budget_account> budgets::account(std::string_view protocol, std::string_view user,
                                                 const budget_settings& s) {
  auto key = fmt::format("{}\n{}", protocol, base::to_lower(user));
  std::lock_guard lock(mu_);
  if (++since_prune_ >= prune_every) {
    since_prune_ = 0;
    std::erase_if(accounts_, [&](auto& kv) {
      return kv.second.use_count() == 1 && kv.second->protocol() == protocol &&
             kv.second->full_and_idle(s);
    });
  }
  auto& slot = accounts_[key];
  if (!slot)
    slot = std::make_shared<budget_account>(*this, std::string(protocol), std::string(user), clock_,
                                            s);
  return slot;
}

std::shared_ptr<budget_account> budgets::find(std::string_view protocol, std::string_view user) {
  auto key = fmt::format("{}\n{}", protocol, base::to_lower(user));
  std::lock_guard lock(mu_);
  auto it = accounts_.find(key);
  return it == accounts_.end() ? nullptr : it->second;
}

void budgets::count(std::string_view protocol, bool refused) {
  std::lock_guard lock(mu_);
  auto it = totals_.find(protocol);
  if (it == totals_.end()) it = totals_.emplace(std::string(protocol), totals{}).first;
  (refused ? it->second.refused : it->second.delayed)++;
}

std::map<std::string, budgets::totals> budgets::counters() {
  std::lock_guard lock(mu_);
  return {totals_.begin(), totals_.end()};
}

}  // namespace postern::policy
