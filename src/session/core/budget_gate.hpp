// Where the throttling budget (policy/budgets.hpp) meets the command loops:
// before a logged-in user's command the gate holds it back while the budget
// says wait, or refuses it; after the command it spends the command's server
// time (its duration minus the time spent waiting for the client).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "session/core/session_base.hpp"

namespace postern::session::core {

// True when this command is measured: the user logged in and the command's
// row is not `unbudgeted`.
inline bool budgeted(const session_base& s, uint8_t row_flags, uint8_t unbudgeted_flag) {
  return s.budget && s.budget_knobs && !(row_flags & unbudgeted_flag);
}

// Nullopt: run the command (it holds a concurrency slot until budget_spent).
// Otherwise the refusal's words, naming the budget and when to try again;
// the refusal is logged with the session id.
net::awaitable<std::optional<std::string>> budget_admit(session_base& s, std::string_view verb);

// After a command budget_admit let run.
void budget_spent(session_base& s, std::chrono::steady_clock::duration wall,
                  std::chrono::steady_clock::duration waiting_for_client);

}  // namespace postern::session::core
