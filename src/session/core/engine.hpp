// The session loop every line-based protocol runs on (POP3, LMTP, and
// submission next): read a command line within its deadline, parse the verb,
// find its row, check the state, run the handler, count bad commands, hold
// replies while pipelined commands wait, flush at the end of a batch or when
// the output budget is full, report each command to the observer, and stop
// on shutdown with the protocol's goodbye.
//
// An exception from a handler (a bug, std::bad_alloc, a library error thrown
// in blocking work) ends only this session: the client gets the protocol's
// coded internal-error reply with the session id, the log gets the detail.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "base/strings.hpp"
#include "observe/log.hpp"
#include "session/core/budget_gate.hpp"
#include "session/core/command_table.hpp"
#include "session/core/session_base.hpp"

namespace postern::session::core {

// What the engine asks the protocol to say (or log).
enum class event {
  empty_line,       // detail: ""
  unknown_command,  // detail: the line (unparseable) or the verb (not in the table)
  line_too_long,    // detail: ""
  not_allowed,      // detail: the verb, refused in this state
  internal_error,   // detail: the verb
  too_many_bad,     // the connection closes
  shutting_down,    // the node stops; the connection closes
  timed_out,        // a deadline passed: log it and say goodbye (the socket closes soon)
  throttled,        // detail: why the user's budget refused the command, and until when
};

struct command_line {
  std::string verb;  // upper-case
  std::string_view args;
};

template <class S>
struct protocol_spec {
  std::string_view name;
  std::span<const command_row<S>> table;
  int max_bad_commands;
  // Splits a line into verb and arguments; nullopt when it has no valid verb.
  std::optional<command_line> (*parse)(std::string_view line);
  size_t (*max_line)(const S&);  // longest command line, terminator included
  void (*say)(S&, event, std::string_view detail);
};

template <class S>
net::awaitable<void> run_commands(S& s, const protocol_spec<S>& p,
                                  command_observer& observer = log_observer()) {
  int bad = 0;
  std::string line;
  auto& conn = *s.conn;
  auto count_bad = [&] { return ++bad >= p.max_bad_commands; };
  while (!s.quit) {
    if (conn.interrupted()) {
      p.say(s, event::shutting_down, {});
      break;
    }
    // Pipelining (RFC 2449 §6.6, RFC 2920): hold replies while more commands
    // wait, unless the budget is reached.
    if (!conn.has_buffered_line() || s.out.size() >= output_budget) {
      bool sent = co_await s.flush();
      if (!sent) break;
      if (!conn.has_buffered_input()) {
        // About to wait for the client: no large buffer is kept idle.
        if (s.out.capacity() > 16 * 1024) std::string().swap(s.out);
        conn.release_buffer();
      }
    }
    conn.set_idle(!conn.has_buffered_input());
    auto st = co_await conn.read_line(line, p.max_line(s));
    conn.set_idle(false);
    if (st == net::read_status::too_long) {
      p.say(s, event::line_too_long, {});
      if (count_bad()) break;
      continue;
    }
    if (st == net::read_status::interrupted) {
      p.say(s, event::shutting_down, {});
      break;
    }
    if (st == net::read_status::timed_out) {
      p.say(s, event::timed_out, {});
      break;
    }
    if (st != net::read_status::ok) break;

    if (line.empty()) {
      p.say(s, event::empty_line, {});
      if (count_bad()) break;
      continue;
    }
    auto cmd = p.parse(line);
    if (!cmd) {
      p.say(s, event::unknown_command, line);
      if (count_bad()) break;
      continue;
    }
    auto* row = find_row<S>(p.table, cmd->verb);
    if (!row) {
      p.say(s, event::unknown_command, cmd->verb);
      if (count_bad()) break;
      continue;
    }
    if (!(row->states & s.state_bit())) {
      p.say(s, event::not_allowed, row->verb);
      if (count_bad()) break;
      continue;
    }
    bad = 0;
    if (!(row->flags & pipelined)) {
      bool sent = co_await s.flush();
      if (!sent) break;
    }
    bool measured = budgeted(s, row->flags, unbudgeted);
    std::optional<std::string> refused;
    if (measured) refused = co_await budget_admit(s, row->verb);
    auto started = std::chrono::steady_clock::now();
    auto waited_before = conn.io_wait();
    auto in_before = conn.bytes_in();
    auto out_before = conn.bytes_out() + s.out.size();
    s.status = {};
    std::string failure;
    s.command_started(row->verb);
    if (refused) {
      p.say(s, event::throttled, *refused);
    } else {
      try {
        co_await row->run(s, cmd->args);
      } catch (const std::exception& e) {
        failure = e.what();
        if (failure.empty()) failure = "unknown exception";
      }
    }
    s.command_done();
    if (measured && !refused)
      budget_spent(s, std::chrono::steady_clock::now() - started, conn.io_wait() - waited_before);
    if (!failure.empty()) {
      observe::log(observe::level::error, p.name, s.id, "{} failed for {}: {}", row->verb, s.who(),
                   base::printable(failure, 300));
      p.say(s, event::internal_error, row->verb);
      break;
    }
    // Escaping the arguments costs more than the rest of a command: only
    // when a log will show them.
    std::string args;
    if (observer.wanted()) args = loggable_arguments(cmd->args, row->mask);
    auto rec = s.record(row->verb, args, conn.bytes_in() - in_before + line.size(),
                        conn.bytes_out() + s.out.size() - out_before, started);
    observer.on_command(rec);
  }
  if (bad >= p.max_bad_commands) {
    observe::log_limited(fmt::format("{} bad commands", p.name), observe::level::warning, p.name,
                         s.id, "too many bad commands ({} in a row) from {}; closing",
                         p.max_bad_commands, s.who());
    p.say(s, event::too_many_bad, {});
  }
  co_await s.flush();
}

}  // namespace postern::session::core
