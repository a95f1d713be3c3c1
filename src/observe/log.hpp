// Operational log lines on standard error: one line per event with the
// component, the session id and the reason in words. (The CSV protocol log
// with bounded rotation builds on this.) When systemd started the node and
// standard error is the journal's stream ($JOURNAL_STREAM, systemd.exec(5)),
// each line goes to the journal instead, with fields an administrator can
// filter on: `journalctl -u postern USER=joe@example.com`.
//
// Threads: thread-safe; a line is written whole.
#pragma once

#include <fmt/format.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern::observe {

enum class level { debug, info, warning, error };

void set_min_level(level l);
// Whether lines of this level are written at all: checked before formatting.
bool enabled(level l);
// What a line may say beside its text, for the journal's fields; a
// session's protocol, user and address are found from its id when not given.
struct line_fields {
  std::string_view code;         // CODE: the response code the client was given
  std::string_view remote_addr;  // REMOTE_ADDR, for lines before a session exists
};

void write_line(level l, std::string_view component, std::string_view session,
                std::string_view text, const line_fields& fields = {});

template <class... Args>
void log(level l, std::string_view component, std::string_view session,
         fmt::format_string<Args...> f, Args&&... args) {
  if (!enabled(l)) return;
  write_line(l, component, session, fmt::format(f, std::forward<Args>(args)...));
}

// A line with its response code (`[IN-USE]`, `AUTHENTICATIONFAILED`...).
template <class... Args>
void log_coded(level l, std::string_view component, std::string_view session,
               const line_fields& fields, fmt::format_string<Args...> f, Args&&... args) {
  if (!enabled(l)) return;
  write_line(l, component, session, fmt::format(f, std::forward<Args>(args)...), fields);
}

// The journal's view of a session: the node's session table answers it.
struct session_fields {
  std::string protocol, user, remote_addr;
};
using session_lookup = std::function<std::optional<session_fields>(std::string_view id)>;
void set_session_lookup(session_lookup f);

// Lines to the journal (true) or as plain lines on standard error. Decided
// once from $JOURNAL_STREAM; tests switch it.
bool to_journal();
void set_to_journal(bool on);

// The journal entry of a line, as "KEY=value" items (MESSAGE, PRIORITY,
// SYSLOG_IDENTIFIER, POSTERN_COMPONENT, SESSION_ID, PROTOCOL, USER,
// REMOTE_ADDR, CODE); `session` is what the lookup found, if anything.
std::vector<std::string> journal_fields(level l, std::string_view component,
                                        std::string_view session_id, std::string_view text,
                                        const line_fields& fields,
                                        const std::optional<session_fields>& session);

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

template <class... Args>
void log_limited_coded(std::string_view key, level l, std::string_view component,
                       std::string_view session, const line_fields& fields,
                       fmt::format_string<Args...> f, Args&&... args) {
  uint64_t suppressed = 0;
  if (!may_log(key, suppressed)) return;
  auto text = fmt::format(f, std::forward<Args>(args)...);
  if (suppressed) text += fmt::format(" ({} more like this in the last 10 s)", suppressed);
  write_line(l, component, session, text, fields);
}

}  // namespace postern::observe
