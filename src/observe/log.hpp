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
void write_line(level l, std::string_view component, std::string_view session,
                std::string_view text);

template <class... Args>
void log(level l, std::string_view component, std::string_view session,
         fmt::format_string<Args...> f, Args&&... args) {
  write_line(l, component, session, fmt::format(f, std::forward<Args>(args)...));
}

// Session ids: 16 hex digits, unique within a process run, shown to clients in
// error replies so a report can be matched to its log lines.
std::string new_session_id();

}  // namespace postern::observe
