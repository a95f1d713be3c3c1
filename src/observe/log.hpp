// Operational log lines on standard error: one line per event with the
// component, the session id and the reason in words. (The CSV protocol log
// with bounded rotation builds on this.)
//
// Threads: thread-safe; a line is written whole.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace postern::observe {

enum class level { debug, info, warning, error };

void set_min_level(level l);
// Whether lines of this level are written at all: checked before formatting.
bool enabled(level l);
void write_line(level l, std::string_view component, std::string_view session,
                std::string_view text);

template <class... Args>
void log(level l, std::string_view component, std::string_view session,
         fmt::format_string<Args...> f, Args&&... args) {
  if (!enabled(l)) return;
  write_line(l, component, session, fmt::format(f, std::forward<Args>(args)...));
}

// Session ids: 16 hex digits, unique within a process run, shown to clients in
// error replies so a report can be matched to its log lines.
std::string new_session_id();

}  // namespace postern::observe

namespace postern::observe {

// True when a line under `key` may be written now: at most one every 10 s per
// key, so a flood (descriptor exhaustion, a handshake storm) cannot flood the
// log. `suppressed` says how many were held back since the last one.
bool may_log(std::string_view key, uint64_t& suppressed);

template <class... Args>
void log_limited(std::string_view key, level l, std::string_view component,
                 std::string_view session, fmt::format_string<Args...> f, Args&&... args) {
  uint64_t suppressed = 0;
  if (!may_log(key, suppressed)) return;
  auto text = fmt::format(f, std::forward<Args>(args)...);
  if (suppressed) text += fmt::format(" ({} more like this in the last 10 s)", suppressed);
  write_line(l, component, session, text);
}

}  // namespace postern::observe
