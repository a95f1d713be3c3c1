#include "session/pop3/commands.hpp"

#include <fmt/format.h>

#include "base/strings.hpp"
#include "proto/pop3/command.hpp"
#include "session/core/sasl.hpp"

namespace postern::session::pop3 {

namespace {

using proto::pop3::message_arg;
using proto::pop3::optional_message_arg;
using proto::pop3::top_args;
using row = core::command_row<session>;
using core::pipelined;
using core::secret;
using core::unbudgeted;

constexpr uint8_t auth = static_cast<uint8_t>(phase::authorization);
constexpr uint8_t trans = static_cast<uint8_t>(phase::transaction);

// Capabilities (RFC 2449 §6): what the client may use now. Login commands
// vanish after login (§5), and before TLS under login_type = secure they are
// not offered at all (RFC 2595 §4), just as IMAP says LOGINDISABLED.
std::string cap_stls(const session& s) {
  bool can = s.state == phase::authorization && s.conn->tls_available() && !s.conn->tls_active();
  return can ? "STLS" : "";
}
std::string cap_utf8(const session& s) {
  if (s.state != phase::authorization) return "";
  return s.plaintext_login_allowed() ? "UTF8 USER" : "UTF8";
}
std::string cap_user(const session& s) {
  return s.state == phase::authorization && s.plaintext_login_allowed() ? "USER" : "";
}
std::string cap_sasl(const session& s) {
  if (s.state != phase::authorization || !s.plaintext_login_allowed()) return "";
  return "SASL " + core::sasl_mechanism_list();
}
std::string cap_uidl(const session&) { return "UIDL"; }
std::string cap_top(const session&) { return "TOP"; }

template <class Args, base::parsed<Args> (*Parse)(std::string_view),
          net::awaitable<void> (*Handle)(session&, const Args&)>
constexpr auto typed = core::typed<session, Args, Parse, Handle>;

const row table[] = {
    {"CAPA", auth | trans, pipelined, secret::none, cmd_capa},
    {"STLS", auth, 0, secret::none, cmd_stls, cap_stls},
    {"UTF8", auth, pipelined, secret::none, cmd_utf8, cap_utf8},
    {"USER", auth, pipelined, secret::none, cmd_user, cap_user},
    {"PASS", auth, pipelined, secret::all, cmd_pass},
    {"AUTH", auth, 0, secret::after_first_word, cmd_auth, cap_sasl},
    {"STAT", trans, pipelined, secret::none, cmd_stat},
    {"LIST", trans, pipelined, secret::none,
     typed<optional_message_arg, proto::pop3::parse_optional_message_arg, cmd_list>},
    {"UIDL", trans, pipelined, secret::none,
     typed<optional_message_arg, proto::pop3::parse_optional_message_arg, cmd_uidl>, cap_uidl},
    {"DELE", trans, pipelined, secret::none,
     typed<message_arg, proto::pop3::parse_message_arg, cmd_dele>},
    {"RSET", trans, pipelined, secret::none, cmd_rset},
    {"NOOP", trans, pipelined, secret::none, cmd_noop},
    {"RETR", trans, pipelined, secret::none,
     typed<message_arg, proto::pop3::parse_message_arg, cmd_retr>},
    {"TOP", trans, pipelined, secret::none, typed<top_args, proto::pop3::parse_top_args, cmd_top>,
     cap_top},
    {"QUIT", auth | trans, pipelined | unbudgeted, secret::none, cmd_quit},
};

std::optional<core::command_line> parse_line(std::string_view line) {
  auto p = proto::pop3::parse_command(line);
  if (!p.cmd) return std::nullopt;
  auto sp = line.find(' ');
  return core::command_line{std::move(p.cmd->verb), sp == std::string_view::npos
                                                        ? std::string_view()
                                                        : line.substr(sp + 1)};
}

size_t max_line(const session& s) { return s.settings->max_command_size; }

void say(session& s, core::event e, std::string_view detail) {
  switch (e) {
    case core::event::empty_line:
      s.err("Empty command line");
      break;
    case core::event::unknown_command:
      s.err(fmt::format("Unknown command: \"{}\"", base::printable(detail, 20)));
      break;
    case core::event::line_too_long:
      s.err(fmt::format("Command line too long: the limit is {} bytes (max_command_size)",
                        s.settings->max_command_size));
      break;
    case core::event::not_allowed:
      s.err(s.state == phase::authorization
                ? fmt::format("{} is not valid before login: log in with USER and PASS (or AUTH) "
                              "first",
                              detail)
                : fmt::format("{} is not valid after login", detail));
      break;
    case core::event::internal_error:
      s.err(
          fmt::format("[SYS/TEMP] Internal error in {}; the server log has the details under "
                      "session {}",
                      detail, s.id));
      break;
    case core::event::too_many_bad:
      s.err("Too many bad commands; closing the connection");
      break;
    case core::event::shutting_down:
      if (auto why = s.end_reason(); !why.empty())
        s.err(fmt::format("[SYS/TEMP] {}", why));
      else
        s.err("[SYS/TEMP] server shutting down; try again in a moment");
      break;
    case core::event::throttled:
      // RFC 2449 §8.1.1: LOGIN-DELAY tells the client to wait before trying again.
      s.err(fmt::format("[LOGIN-DELAY] {}", detail));
      break;
    case core::event::timed_out: {
      bool before_login = s.state == phase::authorization;
      auto setting = before_login ? "preauthenticated_timeout" : "authenticated_timeout";
      auto limit =
          before_login ? s.settings->preauthenticated_timeout : s.settings->authenticated_timeout;
      observe::log(observe::level::info, "pop3", s.id,
                   "idle timeout ({}) for {}; connection closed", setting, s.who());
      s.err(fmt::format("[SYS/TEMP] Timed out after {}s ({}); closing the connection",
                        limit.count(), setting));
      break;
    }
  }
}

const core::protocol_spec<session> spec{"pop3", table, 10, parse_line, max_line, say};

}  // namespace

const core::protocol_spec<session>& protocol() { return spec; }

std::string command_capabilities(const session& s) {
  std::string out;
  for (auto& c : core::offered_capabilities<session>(s, table)) {
    out += c;
    out += "\r\n";
  }
  return out;
}

}  // namespace postern::session::pop3
