#include "observe/log.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>
#include <unordered_map>

namespace postern::observe {

namespace {
std::atomic<int> min_level{static_cast<int>(level::info)};
std::mutex out_mu;

const char* name_of(level l) {
  switch (l) {
    case level::debug:
      return "debug";
    case level::info:
      return "info";
    case level::warning:
      return "warning";
    case level::error:
      return "error";
  }
  return "?";
}

// The last line of defence against forged log lines: whatever a call site
// passed, no control byte reaches the log raw (CR, LF, ESC, NUL, DEL...).
std::string escape_controls(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

bool has_controls(std::string_view text) {
  for (unsigned char c : text)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

}  // namespace

void set_min_level(level l) { min_level = static_cast<int>(l); }

bool enabled(level l) { return static_cast<int>(l) >= min_level.load(std::memory_order_relaxed); }

bool may_log(std::string_view key, uint64_t& suppressed) {
  struct window {
    std::chrono::steady_clock::time_point last{};
    uint64_t held = 0;
  };
  static std::mutex mu;
  static std::unordered_map<std::string, window> windows;
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu);
  if (windows.size() > 10000) windows.clear();  // keys are listeners and reasons: few
  auto& w = windows[std::string(key)];
  if (w.last != std::chrono::steady_clock::time_point{} &&
      now - w.last < std::chrono::seconds(10)) {
    ++w.held;
    return false;
  }
  suppressed = w.held;
  w.held = 0;
  w.last = now;
  return true;
}

void write_line(level l, std::string_view component, std::string_view session,
                std::string_view text) {
  if (static_cast<int>(l) < min_level) return;
  auto now = std::chrono::system_clock::now();
  auto t = std::chrono::system_clock::to_time_t(now);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  auto line = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z {} {} {}{}{}\n",
                          tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                          tm.tm_sec, ms, name_of(l), component, session, session.empty() ? "" : " ",
                          has_controls(text) ? escape_controls(text) : std::string(text));
  std::lock_guard lock(out_mu);
  ::write(STDERR_FILENO, line.data(), line.size());
}

std::string new_session_id() {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t start = static_cast<uint64_t>(::time(nullptr)) << 24;
  return fmt::format("{:016X}", start + counter.fetch_add(1));
}

}  // namespace postern::observe
