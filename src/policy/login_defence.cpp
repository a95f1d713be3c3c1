#include "policy/login_defence.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "base/strings.hpp"

namespace postern::policy {

namespace {

using std::chrono::milliseconds;

// Addresses and accounts share one map; the tag keeps "a" the account apart
// from "a" the address. A long name is cut: merging two very long names only
// slows them both, and it keeps a flood of 10 KB names from costing 10 KB each.
std::string address_key(std::string_view ip) {
  return "a\x1f" + std::string(ip.substr(0, login_defence::max_key_length));
}

std::string account_key(std::string_view account) {
  // Case-folded, so "Joe" and "joe" share a count: more sharing only makes
  // guessing slower, and accounts are never blocked.
  return "u\x1f" + base::to_lower(account.substr(0, login_defence::max_key_length));
}

// first * 2^(n-1), capped at max_delay, with no overflow for any n.
milliseconds delay_for(size_t n, const login_defence_settings& s) {
  if (n == 0 || s.first_delay <= milliseconds::zero()) return milliseconds::zero();
  auto cap = std::max(s.max_delay, milliseconds::zero());
  auto d = s.first_delay;
  for (size_t i = 1; i < n && d < cap; ++i) d = d > cap / 2 ? cap : d * 2;
  return std::min(d, cap);
}

// How many failures change the delay: past this count it stays at max_delay,
// so an account needs no more timestamps than this.
size_t delay_steps(const login_defence_settings& s) {
  auto cap = std::max(s.max_delay, milliseconds::zero());
  auto d = s.first_delay;
  size_t n = 1;
  for (; n < login_defence::max_kept_failures && d > milliseconds::zero() && d < cap; ++n)
    d = d > cap / 2 ? cap : d * 2;
  return n;
}

uint32_t effective_threshold(const login_defence_settings& s) {
  return std::min(s.block_threshold, login_defence::max_kept_failures);
}

}  // namespace

login_defence::login_defence(const base::clock& clock, size_t max_tracked)
    : clock_(clock), max_tracked_(std::max<size_t>(max_tracked, 2)) {}

void login_defence::erase_locked(entry_list::iterator it) {
  index_.erase(std::string_view(it->key));
  entries_.erase(it);
}

void login_defence::drop_expired_locked(steady_time now) {
  // Amortised O(1): each entry is dropped once.
  while (!entries_.empty() && entries_.back().expires <= now)
    erase_locked(std::prev(entries_.end()));
}

login_defence::entry_list::iterator login_defence::find_locked(const std::string& key,
                                                               steady_time now,
                                                               std::chrono::seconds window) {
  auto found = index_.find(std::string_view(key));
  if (found == index_.end()) return entries_.end();
  auto it = found->second;
  // A failure counts while it is younger than the window; the window may have
  // shrunk since it was recorded.
  auto& f = it->failures;
  auto fresh = std::find_if(f.begin(), f.end(), [&](steady_time t) { return now - t < window; });
  f.erase(f.begin(), fresh);
  if (f.empty()) {
    erase_locked(it);
    return entries_.end();
  }
  return it;
}

size_t login_defence::add_failure_locked(std::string key, steady_time now,
                                         const login_defence_settings& s, size_t keep) {
  auto it = find_locked(key, now, s.window);
  if (it != entries_.end()) {
    entries_.splice(entries_.begin(), entries_, it);  // now the most recent
  } else {
    entries_.push_front(entry{std::move(key), {}, now, 0, now});
    it = entries_.begin();
    index_.emplace(std::string_view(it->key), it);
  }
  auto& f = it->failures;
  f.push_back(now);
  ++it->recorded;
  if (f.size() > keep) f.erase(f.begin(), f.end() - static_cast<std::ptrdiff_t>(keep));
  it->expires = now + s.window;
  // The least recently failed go first; the two just touched sit at the front.
  while (entries_.size() > max_tracked_) erase_locked(std::prev(entries_.end()));
  return f.size();
}

std::optional<login_refusal> login_defence::check(std::string_view remote_ip,
                                                  const login_defence_settings& s) {
  std::lock_guard lock(mu_);
  auto now = clock_.steady_now();
  drop_expired_locked(now);
  auto threshold = effective_threshold(s);
  if (threshold == 0) return std::nullopt;
  auto it = find_locked(address_key(remote_ip), now, s.window);
  if (it == entries_.end() || it->failures.size() < threshold) return std::nullopt;
  // The count falls below the threshold once all but threshold-1 of the
  // failures have aged out; the last of those to go decides.
  const auto& f = it->failures;
  auto last_to_age_out = f[f.size() - threshold];
  auto wait = last_to_age_out + s.window - now;
  auto until = clock_.now() + std::chrono::duration_cast<std::chrono::system_clock::duration>(wait);
  // Rounded up, so that trying again at the time shown succeeds.
  auto shown = std::chrono::ceil<std::chrono::seconds>(until);
  return login_refusal{
      until, fmt::format("Too many failed logins from {}: try again after {}",
                         base::printable(remote_ip, 64), base::format_utc_time_of_day(shown))};
}

milliseconds login_defence::record_failure(std::string_view remote_ip, std::string_view account,
                                           const login_defence_settings& s) {
  std::lock_guard lock(mu_);
  auto now = clock_.steady_now();
  drop_expired_locked(now);
  auto steps = delay_steps(s);
  // An address keeps enough to tell when a block ends; an account, which is
  // never blocked, only enough to pick the delay.
  size_t keep_address = std::max<size_t>(steps, effective_threshold(s));
  auto n_address = add_failure_locked(address_key(remote_ip), now, s, keep_address);
  auto n_account = add_failure_locked(account_key(account), now, s, steps);
  return delay_for(std::max(n_address, n_account), s);
}

// The address is not used: its failures stay (see the header).
void login_defence::record_success(std::string_view /*remote_ip*/, std::string_view account) {
  std::lock_guard lock(mu_);
  drop_expired_locked(clock_.steady_now());
  auto found = index_.find(std::string_view(account_key(account)));
  if (found != index_.end()) erase_locked(found->second);
}

std::vector<login_defence::tracked_entry> login_defence::list(const login_defence_settings& s) {
  std::lock_guard lock(mu_);
  auto now = clock_.steady_now();
  auto wall = clock_.now();
  drop_expired_locked(now);
  auto threshold = effective_threshold(s);
  std::vector<tracked_entry> out;
  for (auto& e : entries_) {
    size_t fresh = 0;
    for (auto t : e.failures) fresh += now - t < s.window ? 1 : 0;
    if (fresh == 0) continue;
    tracked_entry t;
    t.is_address = e.key.starts_with("a\x1f");
    t.name = e.key.substr(2);
    t.failures = std::max<size_t>(fresh, e.recorded);
    t.first_failure =
        wall - std::chrono::duration_cast<std::chrono::system_clock::duration>(now - e.first);
    t.last_failure = wall - std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                now - e.failures.back());
    if (t.is_address && threshold > 0 && fresh >= threshold) {
      auto last_to_age_out = e.failures[e.failures.size() - threshold];
      t.blocked_until = wall + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                   last_to_age_out + s.window - now);
    }
    out.push_back(std::move(t));
  }
  return out;
}

bool login_defence::clear(std::string_view name) {
  std::lock_guard lock(mu_);
  bool any = false;
  for (auto key : {address_key(name), account_key(name)}) {
    auto found = index_.find(std::string_view(key));
    if (found == index_.end()) continue;
    erase_locked(found->second);
    any = true;
  }
  return any;
}

size_t login_defence::tracked() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace postern::policy
