#include "session/core/budget_gate.hpp"

#include <fmt/format.h>

#include "base/strings.hpp"
#include "observe/log.hpp"

namespace postern::session::core {

net::awaitable<std::optional<std::string>> budget_admit(session_base& s, std::string_view verb) {
  std::chrono::milliseconds waited{0};
  for (;;) {
    auto v = s.budget->begin(*s.budget_knobs, waited);
    if (v.what == policy::budget_verdict::kind::run) break;
    if (v.what == policy::budget_verdict::kind::refuse) {
      observe::log_limited(fmt::format("{} budget {}", s.protocol, s.user), observe::level::warning,
                           s.protocol, s.id, "{} of {} refused by the throttling budget: {}", verb,
                           s.who(), v.message);
      co_return std::move(v.message);
    }
    if (waited.count() == 0)
      observe::log_limited(fmt::format("{} budget delay {}", s.protocol, s.user),
                           observe::level::info, s.protocol, s.id,
                           "{} of {} held back {} ms by the throttling budget (balance below zero, "
                           "or max_concurrency commands running)",
                           verb, s.who(), v.wait.count());
    net::asio::steady_timer t(s.conn->executor(), v.wait);
    co_await t.async_wait(net::use_nothrow);
    waited += v.wait;
  }
  co_return std::nullopt;
}

void budget_spent(session_base& s, std::chrono::steady_clock::duration wall,
                  std::chrono::steady_clock::duration waiting_for_client) {
  auto server = std::max(wall - waiting_for_client, std::chrono::steady_clock::duration::zero());
  s.budget->done(std::chrono::duration_cast<std::chrono::microseconds>(server), *s.budget_knobs);
}

}  // namespace postern::session::core
