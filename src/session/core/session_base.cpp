#include "session/core/session_base.hpp"

#include <fmt/format.h>

#include "base/strings.hpp"

namespace postern::session::core {

net::awaitable<bool> session_base::flush(bool more) {
  if (out.empty()) co_return !conn->is_closed();
  bool ok = co_await conn->write(out, more);
  out.clear();
  co_return ok;
}

net::awaitable<bool> session_base::flush_if_full() {
  if (out.size() < output_budget) co_return true;
  bool ok = co_await flush();
  co_return ok;
}

std::string session_base::who() const {
  if (user.empty()) return conn->remote_ip();
  return fmt::format("{} from {}", base::printable(user, 100), conn->remote_ip());
}

}  // namespace postern::session::core
