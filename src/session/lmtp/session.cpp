#include "session/lmtp/session.hpp"

#include <fmt/format.h>

#include "base/strings.hpp"
#include "observe/log.hpp"
#include "proto/smtp/command.hpp"
#include "session/lmtp/commands.hpp"

namespace postern::session::lmtp {

namespace {
constexpr size_t max_line = 2048;  // generous next to RFC 5321's 512 for command lines
constexpr int max_bad_commands = 20;
}  // namespace

net::awaitable<void> run_session(services& svc, std::shared_ptr<net::connection> conn,
                                 const net::listener_spec& listener) {
  state s{svc, conn, listener, svc.settings.lmtp(), observe::new_session_id()};
  conn->set_timeout(s.settings->timeout);
  auto admitted = svc.registry.admit("lmtp", conn->remote_ip(), s.settings->max_connections,
                                     s.settings->max_connections);
  if (!admitted) {
    observe::log(observe::level::warning, "lmtp", s.id, "connection refused: {}",
                 admitted.err().message);
    auto refusal = fmt::format("421 4.3.2 {} {}\r\n", svc.hostname, admitted.err().message);
    co_await conn->write(refusal);
    co_return;
  }
  s.reply(fmt::format("220 {} Postern LMTP ready", svc.hostname));
  int bad = 0;
  std::string line;
  while (!s.quit) {
    if (!conn->has_buffered_line() && !s.out.empty()) {
      bool sent = co_await conn->write(s.out);
      if (!sent) break;
      s.out.clear();
    }
    auto st = co_await conn->read_line(line, max_line);
    if (st == net::read_status::too_long) {
      s.reply(fmt::format("500 5.5.2 Line too long: the limit is {} bytes", max_line));
      if (++bad >= max_bad_commands) break;
      continue;
    }
    if (st != net::read_status::ok) break;
    auto cmd = proto::smtp::parse_command(line);
    const command_spec* spec = cmd ? find_command(cmd->verb) : nullptr;
    if (!spec) {
      s.reply(fmt::format("500 5.5.2 Unknown command \"{}\"", base::printable(line, 20)));
      if (++bad >= max_bad_commands) break;
      continue;
    }
    bad = 0;
    std::string failure;
    try {
      co_await spec->run(s, cmd->args);
    } catch (const std::exception& e) {
      failure = e.what();
    }
    if (!failure.empty()) {
      observe::log(observe::level::error, "lmtp", s.id, "{} failed: {}", spec->verb, failure);
      s.reply(
          fmt::format("421 4.3.0 Internal error in {}: {}; the server log has the details "
                      "under session {}",
                      spec->verb, failure, s.id));
      break;
    }
  }
  if (bad >= max_bad_commands) s.reply("421 4.7.0 Too many bad commands; closing the connection");
  if (!s.out.empty()) {
    co_await conn->write(s.out);
  }
}

}  // namespace postern::session::lmtp
