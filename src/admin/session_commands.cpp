// `postern session list [--user U] [--protocol P]` and `postern session kill
// ID|--user U`: who is connected to this node, and ending a session with a
// coded goodbye (the seeds' "which client holds the per-user limit?").
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>

#include "admin/node_runtime.hpp"
#include "admin/protocols.hpp"
#include "base/strings.hpp"
#include "observe/log.hpp"

namespace postern::admin {

namespace {

std::string utc(std::chrono::system_clock::time_point t) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", std::chrono::floor<std::chrono::seconds>(t));
}

command_reply session_list(command_context& c, const arguments& a) {
  auto user = value_of(a, "user"), protocol = value_of(a, "protocol");
  auto sessions = c.node->svc.sessions->list();
  std::sort(sessions.begin(), sessions.end(),
            [](auto& x, auto& y) { return x.since != y.since ? x.since < y.since : x.id < y.id; });
  command_reply r;
  r.columns = {"id",    "user",  "remote",  "protocol", "tls",
               "since", "state", "command", "bytes_in", "bytes_out"};
  for (auto& s : sessions) {
    if (!user.empty() && !base::iequals(s.user, user)) continue;
    if (!protocol.empty() && s.protocol != protocol) continue;
    r.rows.push_back({s.id, s.user.empty() ? "-" : s.user,
                      fmt::format("{} -> port {}", s.remote_ip, s.local_port), s.protocol,
                      s.tls.empty() ? "none" : s.tls, utc(s.since),
                      s.user.empty() ? "before login" : "logged in",
                      s.command.empty() ? "-" : s.command, std::to_string(s.bytes_in),
                      std::to_string(s.bytes_out)});
  }
  return r;
}

command_reply session_kill(command_context& c, const arguments& a) {
  auto id = value_of(a, "id"), user = value_of(a, "user");
  if (id.empty() == user.empty())
    return failure(400, "name one session: a session id (from `postern session list`) or --user");
  auto which = [&](const session::core::session_info& s) {
    return !id.empty() ? s.id == id : base::iequals(s.user, user);
  };
  auto n = c.node->svc.sessions->kill(which,
                                      "the administrator ended this session; reconnect to "
                                      "go on");
  if (n == 0)
    return failure(
        404, id.empty() ? fmt::format("{} has no session on this node", base::printable(user, 100))
                        : fmt::format("no session {} on this node (it may have "
                                      "ended already)",
                                      base::printable(id, 40)));
  observe::log(observe::level::info, "admin", id, "{} ended {} session(s) of {}", c.requester, n,
               id.empty() ? base::printable(user, 100) : "session " + id);
  command_reply r;
  r.lines.push_back(fmt::format("ended {} session{} of {}; each was told so with a coded goodbye",
                                n, n == 1 ? "" : "s", id.empty() ? user : "session " + id));
  return r;
}

}  // namespace

std::vector<command_spec> session_commands() {
  std::vector<command_spec> out;
  arg_spec user, protocol;
  user.name = "user";
  user.help = "only this user's sessions";
  protocol.name = "protocol";
  protocol.help = "only this protocol's sessions";
  for (auto& k : protocols()) protocol.choices.emplace_back(k.name);
  out.push_back({"session list",
                 "the node's sessions: user, address, protocol, TLS, since, state, command, bytes",
                 {user, protocol},
                 true,
                 session_list});
  arg_spec id, kill_user;
  id.name = "id";
  id.help = "the session id (from session list, error replies and the log)";
  id.positional = true;
  kill_user.name = "user";
  kill_user.help = "every session of this user";
  out.push_back({"session kill",
                 "end a session, or all of a user's; the client gets a coded goodbye",
                 {id, kill_user},
                 true,
                 session_kill});
  return out;
}

}  // namespace postern::admin
