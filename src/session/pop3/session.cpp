#include "session/pop3/session.hpp"

#include <fmt/format.h>

#include "base/strings.hpp"
#include "observe/log.hpp"
#include "proto/pop3/command.hpp"
#include "session/pop3/commands.hpp"
#include "session/pop3/state.hpp"

namespace postern::session::pop3 {

namespace {

// Dovecot and Exchange both give up on a client after a run of bad commands.
constexpr int max_bad_commands = 10;

}  // namespace

net::awaitable<void> run_session(services& svc, std::shared_ptr<net::connection> conn,
                                 const net::listener_spec& listener) {
  session s{svc, conn, listener, svc.settings.pop3(), observe::new_session_id()};
  conn->set_timeout(s.settings->preauthenticated_timeout);

  auto admitted = svc.registry.admit("pop3", conn->remote_ip(), s.settings->max_connections,
                                     s.settings->max_connections_from_single_ip);
  if (!admitted) {
    observe::log(observe::level::warning, "pop3", s.id, "connection from {} refused: {}",
                 conn->remote_ip(), admitted.err().message);
    s.err(fmt::format("[SYS/TEMP] {}", admitted.err().message));
    co_await s.flush();
    co_return;
  }

  s.ok(s.settings->banner);
  int bad = 0;
  std::string line;
  while (!s.quit) {
    // Pipelining (RFC 2449 §6.6): hold responses while more commands wait.
    if (!s.conn->has_buffered_line()) {
      bool sent = co_await s.flush();
      if (!sent) break;
      // About to wait for the client: a RETR's large buffer is not kept idle.
      if (s.out.capacity() > 16 * 1024) std::string().swap(s.out);
    }
    auto st = co_await conn->read_line(line, s.settings->max_command_size);
    if (st == net::read_status::too_long) {
      s.err(fmt::format("Command line too long: the limit is {} bytes (max_command_size)",
                        s.settings->max_command_size));
      if (++bad >= max_bad_commands) break;
      continue;
    }
    if (st == net::read_status::timed_out) {
      auto limit =
          s.state == phase::authorization ? "preauthenticated_timeout" : "authenticated_timeout";
      observe::log(observe::level::info, "pop3", s.id, "idle timeout ({}) for {}", limit,
                   s.user.empty() ? conn->remote_ip() : s.user);
      break;  // the watchdog closed the socket; nothing more can be sent
    }
    if (st != net::read_status::ok) break;

    auto parsed = proto::pop3::parse_command(line);
    if (!parsed.cmd) {
      s.err(parsed.error == proto::pop3::parse_error::empty
                ? std::string("Empty command line")
                : fmt::format("Unknown command: \"{}\"", base::printable(line, 20)));
      if (++bad >= max_bad_commands) break;
      continue;
    }
    auto* spec = find_command(parsed.cmd->verb);
    if (!spec) {
      s.err(fmt::format("Unknown command: {}", base::printable(parsed.cmd->verb, 20)));
      if (++bad >= max_bad_commands) break;
      continue;
    }
    if (!(spec->phases & static_cast<uint8_t>(s.state))) {
      s.err(s.state == phase::authorization
                ? fmt::format("{} is not valid before login: log in with USER and PASS (or AUTH) "
                              "first",
                              spec->verb)
                : fmt::format("{} is not valid after login", spec->verb));
      if (++bad >= max_bad_commands) break;
      continue;
    }
    bad = 0;
    std::string failure;
    try {
      co_await spec->run(s, parsed.cmd->args);
    } catch (const std::exception& e) {
      failure = e.what();
    }
    if (!failure.empty()) {
      // Never a bare number or a silent close: say what broke and where to look.
      observe::log(observe::level::error, "pop3", s.id, "{} failed for {}: {}", spec->verb,
                   s.user.empty() ? conn->remote_ip() : s.user, failure);
      s.err(
          fmt::format("[SYS/TEMP] Internal error in {}: {}; the server log has the details "
                      "under session {}",
                      spec->verb, failure, s.id));
      break;
    }
  }
  if (bad >= max_bad_commands) s.err("Too many bad commands; closing the connection");
  co_await s.flush();
}

}  // namespace postern::session::pop3
