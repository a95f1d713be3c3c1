// A protocol's command table: one row per verb with the states it is allowed
// in, how it interacts with pipelining and untagged notices, what logs must
// mask, the capability it contributes and its handler. Dispatch, state checks,
// bad-command counting, pipelining, capability lists, timing and the observer
// all come from the table (engine.hpp); no other code names a verb.
//
// Adding a command = its parser (proto/<p>/) + its handler + one row.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/parsed.hpp"
#include "net/asio.hpp"
#include "session/core/observer.hpp"

namespace postern::session::core {

enum command_flags : uint8_t {
  // May run in a batch with the commands around it: its reply is held while
  // more pipelined commands wait. Without it the engine flushes before the
  // command (STLS, AUTH with continuations, DATA).
  pipelined = 1,
  // Untagged EXPUNGE may be sent after it (RFC 9051 §7.5.1 forbids them after
  // FETCH, STORE and SEARCH by sequence number).
  expunge_notices = 2,
  // Spends nothing of the user's throttling budget and is never held back by
  // it: it ends the session or waits for the client (QUIT, LOGOUT, IDLE).
  unbudgeted = 4,
};

template <class S>
struct command_row {
  std::string_view verb;  // upper-case
  uint8_t states;         // bit set of the session's state bits
  uint8_t flags;          // command_flags
  secret mask;            // what of the arguments logs must hide
  net::awaitable<void> (*run)(S&, std::string_view args);
  // The capability line or keyword it contributes now ("" for none), so a
  // capability list can never disagree with what is implemented and allowed.
  std::string (*capability)(const S&) = nullptr;
};

using base::parse_failure;
using base::parsed;

// A row's handler built from a parser into a typed argument struct and a
// handler of those arguments: syntax errors never reach the handler.
// S provides syntax_error(words).
template <class S, class Args, parsed<Args> (*Parse)(std::string_view),
          net::awaitable<void> (*Handle)(S&, const Args&)>
net::awaitable<void> typed(S& s, std::string_view args) {
  auto p = Parse(args);
  if (auto* f = std::get_if<parse_failure>(&p)) {
    s.syntax_error(f->words);
    co_return;
  }
  co_await Handle(s, std::get<Args>(p));
}

template <class S>
const command_row<S>* find_row(std::span<const command_row<S>> table, std::string_view verb) {
  for (auto& r : table)
    if (r.verb == verb) return &r;
  return nullptr;
}

// The capabilities the table offers in this session's present state, in
// table order.
template <class S>
std::vector<std::string> offered_capabilities(const S& s, std::span<const command_row<S>> table) {
  std::vector<std::string> out;
  for (auto& r : table) {
    if (!r.capability) continue;
    auto c = r.capability(s);
    if (!c.empty()) out.push_back(std::move(c));
  }
  return out;
}

}  // namespace postern::session::core
