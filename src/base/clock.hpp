// Time as a dependency: code that waits, delays or expires things asks an
// injected clock, so tests move time forward instead of sleeping (STYLE.md:
// "hermetic tests ... with an injected clock").
//
// Threads: every clock here may be read from any thread at once;
// manual_clock may also be moved from any thread.
#pragma once

#include <chrono>
#include <mutex>
#include <string>

namespace postern::base {

class clock {
 public:
  virtual ~clock() = default;
  // Wall time: only for what people read ("try again after 14:05:00Z") and for
  // stored dates. It may jump; never measure a duration with it.
  virtual std::chrono::system_clock::time_point now() const = 0;
  // Monotonic time: for timeouts, delays and windows.
  virtual std::chrono::steady_clock::time_point steady_now() const = 0;
};

// The real clocks of the process. The object lives for the whole program.
const clock& system_clock();

// A clock that moves only when told to, for tests.
class manual_clock final : public clock {
 public:
  // Starts at `wall` (by default 2025-01-01T00:00:00Z) and at a steady time
  // well after the steady epoch, so that "now - window" never underflows.
  manual_clock();
  explicit manual_clock(std::chrono::system_clock::time_point wall);

  std::chrono::system_clock::time_point now() const override;
  std::chrono::steady_clock::time_point steady_now() const override;

  // Moves both clocks forward by `d`; a negative `d` is ignored, because
  // steady time never goes back.
  void advance(std::chrono::milliseconds d);
  // Sets the wall clock only, as an operator or NTP step would; steady time
  // stays where it is.
  void set(std::chrono::system_clock::time_point wall);

 private:
  mutable std::mutex mu_;
  std::chrono::system_clock::time_point wall_;
  std::chrono::steady_clock::time_point steady_;
};

// "14:05:00Z": the UTC time of day, whole seconds rounded down. For refusals
// that say until when, where the date is almost always today.
std::string format_utc_time_of_day(std::chrono::system_clock::time_point t);

}  // namespace postern::base
