#include "base/clock.hpp"

#include <fmt/format.h>

namespace postern::base {

namespace {

class real_clock final : public clock {
 public:
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::now();
  }
  std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::now();
  }
};

// 2025-01-01T00:00:00Z: a fixed, recognisable start for test output.
constexpr std::chrono::system_clock::time_point default_wall{std::chrono::seconds{1735689600}};
// A day past the steady epoch, so code subtracting a window from "now" in a
// test never goes below the epoch.
constexpr std::chrono::steady_clock::time_point default_steady{std::chrono::hours{24}};

}  // namespace

const clock& system_clock() {
  // A function-local static: constructed on first use, safe from any thread.
  static const real_clock c;
  return c;
}

manual_clock::manual_clock() : manual_clock(default_wall) {}

manual_clock::manual_clock(std::chrono::system_clock::time_point wall)
    : wall_(wall), steady_(default_steady) {}

std::chrono::system_clock::time_point manual_clock::now() const {
  std::lock_guard lock(mu_);
  return wall_;
}

std::chrono::steady_clock::time_point manual_clock::steady_now() const {
  std::lock_guard lock(mu_);
  return steady_;
}

void manual_clock::advance(std::chrono::milliseconds d) {
  if (d.count() <= 0) return;
  std::lock_guard lock(mu_);
  wall_ += d;
  steady_ += d;
}

void manual_clock::set(std::chrono::system_clock::time_point wall) {
  std::lock_guard lock(mu_);
  wall_ = wall;
}

std::string format_utc_time_of_day(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  // system_clock counts UTC without leap seconds (C++20 [time.clock.system]),
  // so the time of day is the remainder after whole days; floor keeps times
  // before 1970 on the right day.
  auto since_midnight = floor<seconds>(t) - floor<days>(t);
  hh_mm_ss hms{since_midnight};
  return fmt::format("{:02}:{:02}:{:02}Z", hms.hours().count(), hms.minutes().count(),
                     hms.seconds().count());
}

}  // namespace postern::base
