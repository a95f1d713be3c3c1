#include "session/core/login.hpp"

#include <fmt/format.h>

#include "base/strings.hpp"
#include "directory/authenticate.hpp"
#include "net/blocking.hpp"
#include "observe/log.hpp"

namespace postern::session::core {

bool plaintext_login_allowed(const net::connection& conn, directory::login_type login,
                             const std::vector<base::ip_network>& secure_networks) {
  if (conn.tls_active() || login == directory::login_type::plaintext) return true;
  for (auto& n : secure_networks)
    if (n.contains(conn.remote_ip())) return true;
  return false;
}

namespace {

std::string_view kind_name(login_outcome::kind k) {
  switch (k) {
    case login_outcome::kind::ok:
      return "ok";
    case login_outcome::kind::failed:
      return "failed";
    case login_outcome::kind::blocked:
      return "blocked";
    case login_outcome::kind::user_limit:
      return "user_limit";
    case login_outcome::kind::disabled:
      return "disabled";
    case login_outcome::kind::unavailable:
      return "unavailable";
    case login_outcome::kind::throttled:
      return "throttled";
  }
  return "other";
}

net::awaitable<login_outcome> attempt(session_base& s, std::string_view name, std::string password,
                                      const login_limits& limits) {
  login_outcome out;
  auto address = base::normalize_address(name);
  s.login_name = base::printable(address, 100);
  const auto& ip = s.conn->remote_ip();
  auto& defence = s.svc.defence;

  if (auto refusal = defence.check(ip, limits.defence)) {
    observe::log_limited_coded(fmt::format("{} blocked {}", s.protocol, ip),
                               observe::level::warning, s.protocol, s.id,
                               {refusal_code(s.protocol, login_outcome::kind::blocked), ip},
                               "login for {} refused: {} (login_block_threshold)",
                               base::printable(address, 100), refusal->message);
    out.what = login_outcome::kind::blocked;
    out.message = refusal->message;
    co_return out;
  }

  auto& dir = s.svc.dir;
  auto& cache = s.svc.credentials;
  // The hash is memory-hard CPU work: its own pool, so logins never delay fsyncs.
  auto verify = [&dir, &cache, address, password = std::move(password)] {
    return directory::authenticate(dir, cache, address, password);
  };
  auto verified = co_await net::run_cpu(std::move(verify));
  if (!verified) {
    auto& e = verified.err();
    if (e.code != base::errc::not_found && e.code != base::errc::invalid_argument) {
      observe::log_coded(observe::level::error, s.protocol, s.id,
                         {refusal_code(s.protocol, login_outcome::kind::unavailable), ip},
                         "directory error during login: {} ({})", e.message, e.detail);
      out.what = login_outcome::kind::unavailable;
      out.error = e;
      co_return out;
    }
    auto pause = defence.record_failure(ip, address, limits.defence);
    observe::log_coded(observe::level::info, s.protocol, s.id,
                       {refusal_code(s.protocol, login_outcome::kind::failed), ip},
                       "login failed for {} from {}: {}; answering after {} ms",
                       base::printable(address, 100), ip, e.message, pause.count());
    if (pause.count() > 0) {
      net::asio::steady_timer t(co_await net::asio::this_coro::executor, pause);
      co_await t.async_wait(net::use_nothrow);
    }
    out.what = login_outcome::kind::failed;
    co_return out;
  }
  defence.record_success(ip, verified->address);
  // Said only after the password proved the client owns the mailbox, so it
  // tells no one else which addresses exist.
  if (!verified->allows(s.protocol)) {
    out.what = login_outcome::kind::disabled;
    out.message = fmt::format("{} is disabled for the mailbox {}{} (postern user set {} --{} on)",
                              base::to_upper(s.protocol), verified->address,
                              verified->role == "admin" ? ", which has the admin role" : "",
                              verified->address, s.protocol);
    observe::log_coded(observe::level::warning, s.protocol, s.id,
                       {refusal_code(s.protocol, out.what), ip}, "login of {} from {} refused: {}",
                       verified->address, ip, out.message);
    co_return out;
  }

  auto lease =
      s.svc.registry.admit_user(s.protocol, verified->address, limits.max_connections_per_user);
  if (!lease) {
    out.what = login_outcome::kind::user_limit;
    observe::log_coded(observe::level::warning, s.protocol, s.id,
                       {refusal_code(s.protocol, out.what), ip}, "login of {} from {} refused: {}",
                       verified->address, ip, lease.err().message);
    out.message = lease.err().message;
    co_return out;
  }
  if (s.svc.budgets && limits.budget) {
    auto account = s.svc.budgets->account(s.protocol, verified->address, *limits.budget);
    if (auto refusal = account->login_refusal(*limits.budget)) {
      out.what = login_outcome::kind::throttled;
      observe::log_coded(
          observe::level::warning, s.protocol, s.id, {refusal_code(s.protocol, out.what), ip},
          "login of {} from {} refused: {}", verified->address, ip, refusal->message);
      out.message = std::move(refusal->message);
      co_return out;
    }
    out.budget = std::move(account);
  }
  out.what = login_outcome::kind::ok;
  out.user = std::move(*verified);
  out.lease = std::move(*lease);
  co_return out;
}

}  // namespace

std::string_view refusal_code(std::string_view protocol, login_outcome::kind k) {
  using kind = login_outcome::kind;
  if (protocol == "pop3") {
    switch (k) {
      case kind::user_limit:
        return "IN-USE";
      case kind::throttled:
        return "LOGIN-DELAY";
      case kind::unavailable:
        return "SYS/TEMP";
      default:
        return k == kind::ok ? "" : "AUTH";
    }
  }
  if (protocol == "imap") {
    switch (k) {
      case kind::ok:
        return "";
      case kind::failed:
        return "AUTHENTICATIONFAILED";
      case kind::blocked:
      case kind::unavailable:
        return "UNAVAILABLE";
      case kind::disabled:
        return "CONTACTADMIN";
      case kind::user_limit:
      case kind::throttled:
        return "LIMIT";
    }
  }
  switch (k) {  // submission
    case kind::ok:
      return "";
    case kind::failed:
    case kind::disabled:
      return "5.7.8";
    default:
      return "4.7.0";
  }
}

net::awaitable<login_outcome> log_in(session_base& s, std::string_view name, std::string password,
                                     const login_limits& limits) {
  auto out = co_await attempt(s, name, std::move(password), limits);
  if (s.svc.metrics) s.svc.metrics->count_login(s.protocol, kind_name(out.what));
  co_return out;
}

}  // namespace postern::session::core
