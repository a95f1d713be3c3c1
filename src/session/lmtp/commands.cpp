// The LMTP command table and the envelope and session commands: LHLO, MAIL,
// RCPT, RSET, NOOP, VRFY, QUIT, STARTTLS (RFC 2033, RFC 5321 §4.1.1, RFC 3207).
// DATA is in data.cpp.
#include "session/lmtp/commands.hpp"

#include <fmt/format.h>

#include "base/strings.hpp"
#include "net/blocking.hpp"
#include "observe/log.hpp"
#include "proto/smtp/command.hpp"
#include "session/core/handshake.hpp"

namespace postern::session::lmtp {

namespace {

using core::pipelined;
using core::secret;
using row = core::command_row<state>;

constexpr uint8_t connected = static_cast<uint8_t>(phase::connected);
constexpr uint8_t greeted = static_cast<uint8_t>(phase::greeted);
constexpr uint8_t mail = static_cast<uint8_t>(phase::mail);
constexpr uint8_t rcpt = static_cast<uint8_t>(phase::rcpt);
constexpr uint8_t any = connected | greeted | mail | rcpt;

std::string cap_size(const state& s) {
  return fmt::format("SIZE {}", s.settings->max_message_size);
}
std::string cap_8bitmime(const state&) { return "8BITMIME"; }
std::string cap_starttls(const state& s) {
  return s.conn->tls_available() && !s.conn->tls_active() ? "STARTTLS" : "";
}

const row* table_begin();
size_t table_size();

net::awaitable<void> cmd_lhlo(state& s, std::string_view args) {
  if (base::trim(args).empty()) {
    s.reply("501 5.5.4 LHLO needs your host name");
    co_return;
  }
  s.stage = phase::greeted;
  s.reset();
  // RFC 2033 §4.1 / RFC 5321 §4.1.1.1: the extensions come from the table.
  std::vector<std::string> lines{s.svc.hostname, "PIPELINING", "ENHANCEDSTATUSCODES"};
  for (auto& c : core::offered_capabilities<state>(s, {table_begin(), table_size()}))
    lines.push_back(std::move(c));
  for (size_t i = 0; i < lines.size(); ++i)
    s.reply(fmt::format("250{}{}", i + 1 < lines.size() ? "-" : " ", lines[i]));
}

net::awaitable<void> cmd_helo(state& s, std::string_view) {
  s.reply("500 5.5.1 This is an LMTP server: greet with LHLO (RFC 2033)");
  co_return;
}

net::awaitable<void> cmd_mail(state& s, std::string_view args) {
  auto parsed = proto::smtp::parse_path(args, "FROM:", true);
  if (auto* f = std::get_if<proto::smtp::path_failure>(&parsed)) {
    s.reply(smtp::path_failure_reply(*f, true));
    co_return;
  }
  auto& path = std::get<proto::smtp::path_argument>(parsed);
  auto refusal = smtp::apply_mail_parameters(path, s.settings->max_message_size, s.env);
  if (!refusal.empty()) {
    s.reply(refusal);
    co_return;
  }
  s.stage = phase::mail;
  s.reply("250 2.1.0 Sender OK");
}

net::awaitable<void> cmd_rcpt(state& s, std::string_view args) {
  auto parsed = proto::smtp::parse_path(args, "TO:", false);
  if (auto* f = std::get_if<proto::smtp::path_failure>(&parsed)) {
    s.reply(smtp::path_failure_reply(*f, false));
    co_return;
  }
  auto& path = std::get<proto::smtp::path_argument>(parsed);
  if (s.env.recipients.size() >= s.settings->max_recipients) {
    s.reply(fmt::format("452 4.5.3 Too many recipients: at most {} per message (max_recipients)",
                        s.settings->max_recipients));
    co_return;
  }
  auto address = base::normalize_address(path.address);
  // A recently seen recipient is answered from memory; the delivery checks
  // the directory again before it commits.
  if (auto hint = s.svc.users.find(address)) {
    s.env.recipients.push_back(smtp::recipient{hint->address, hint->id, {}, {}});
    s.stage = phase::rcpt;
    s.reply(fmt::format("250 2.1.5 <{}> OK", hint->address));
    co_return;
  }
  auto& dir = s.svc.dir;
  auto lookup = [&dir, address] { return dir.find_recipient(address); };
  auto user = co_await net::run_blocking(std::move(lookup));
  if (!user) {
    if (user.err().code == base::errc::not_found) {
      s.reply(fmt::format("550 5.1.1 <{}>: no such user here", base::printable(address, 100)));
    } else {
      observe::log(observe::level::error, "lmtp", s.id, "directory lookup failed: {} ({})",
                   user.err().message, user.err().detail);
      s.reply(fmt::format("451 4.3.0 <{}>: directory unavailable, try again later (session {})",
                          base::printable(address, 100), s.id));
    }
    co_return;
  }
  s.svc.users.put(*user);
  s.env.recipients.push_back(smtp::recipient{user->address, user->id, {}, {}});
  s.stage = phase::rcpt;
  s.reply(fmt::format("250 2.1.5 <{}> OK", user->address));
}

net::awaitable<void> cmd_rset(state& s, std::string_view) {
  s.reset();
  s.reply("250 2.0.0 OK");
  co_return;
}

net::awaitable<void> cmd_noop(state& s, std::string_view) {
  s.reply("250 2.0.0 OK");
  co_return;
}

net::awaitable<void> cmd_vrfy(state& s, std::string_view) {
  s.reply("252 2.5.2 Cannot verify users; send RCPT TO to test a recipient");
  co_return;
}

net::awaitable<void> cmd_starttls(state& s, std::string_view) {
  if (!s.conn->tls_available() || s.conn->tls_active()) {
    s.reply("454 4.7.0 TLS not available on this listener");
    co_return;
  }
  s.reply("220 2.0.0 Ready to start TLS");
  bool sent = co_await s.flush();
  if (!sent) {
    s.quit = true;
    co_return;
  }
  bool secured = co_await core::start_tls(s);
  if (!secured) co_return;
  s.stage = phase::connected;  // RFC 3207 §4.2: the client must greet again
  s.reset();
}

net::awaitable<void> cmd_quit(state& s, std::string_view) {
  s.reply(fmt::format("221 2.0.0 {} closing connection", s.svc.hostname));
  s.quit = true;
  co_return;
}

const row table[] = {
    {"LHLO", any, pipelined, secret::none, cmd_lhlo},
    {"HELO", any, pipelined, secret::none, cmd_helo},
    {"EHLO", any, pipelined, secret::none, cmd_helo},
    {"MAIL", greeted, pipelined, secret::none, cmd_mail, cap_size},
    {"RCPT", mail | rcpt, pipelined, secret::none, cmd_rcpt},
    {"DATA", rcpt, 0, secret::none, cmd_data, cap_8bitmime},
    {"RSET", any, pipelined, secret::none, cmd_rset},
    {"NOOP", any, pipelined, secret::none, cmd_noop},
    {"VRFY", any, pipelined, secret::none, cmd_vrfy},
    {"QUIT", any, pipelined, secret::none, cmd_quit},
    {"STARTTLS", connected | greeted, 0, secret::none, cmd_starttls, cap_starttls},
};

const row* table_begin() { return table; }
size_t table_size() { return std::size(table); }

std::optional<core::command_line> parse_line(std::string_view line) {
  auto c = proto::smtp::parse_command(line);
  if (!c) return std::nullopt;
  auto sp = line.find(' ');
  return core::command_line{
      std::move(c->verb), sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1)};
}

// Generous next to RFC 5321 §4.5.3.1.4's 512 for command lines.
size_t max_line(const state&) { return 2048; }

// The RFC 5321 §4.1.4 ordering replies: what the client must send first.
std::string order_reply(const state& s, std::string_view verb) {
  if (s.stage == phase::connected) return "503 5.5.1 Send LHLO first";
  if (verb == "MAIL") return "503 5.5.1 A transaction is already open: send RSET first";
  if (verb == "DATA" && s.stage == phase::mail)
    return "503 5.5.1 No valid recipients: send RCPT TO first";
  if (verb == "STARTTLS") return "503 5.5.1 STARTTLS is not allowed inside a transaction";
  return "503 5.5.1 Send MAIL FROM first";
}

void say(state& s, core::event e, std::string_view detail) {
  switch (e) {
    case core::event::empty_line:
    case core::event::unknown_command:
      s.reply(fmt::format("500 5.5.2 Unknown command \"{}\"", base::printable(detail, 20)));
      break;
    case core::event::line_too_long:
      s.reply(fmt::format("500 5.5.2 Line too long: the limit is {} bytes", max_line(s)));
      break;
    case core::event::not_allowed:
      s.reply(order_reply(s, detail));
      break;
    case core::event::internal_error:
      s.reply(
          fmt::format("421 4.3.0 Internal error in {}; the server log has the details under "
                      "session {}",
                      detail, s.id));
      break;
    case core::event::too_many_bad:
      s.reply("421 4.7.0 Too many bad commands; closing the connection");
      break;
    case core::event::shutting_down:
      if (auto why = s.end_reason(); !why.empty())
        s.reply(fmt::format("421 4.3.2 {} {}", s.svc.hostname, why));
      else
        s.reply(fmt::format("421 4.3.2 {} server shutting down; try again later", s.svc.hostname));
      break;
    case core::event::throttled:
      s.reply(fmt::format("451 4.7.0 {}", detail));
      break;
    case core::event::timed_out:
      observe::log(observe::level::info, "lmtp", s.id,
                   "idle timeout (timeout) for {}; connection closed", s.who());
      s.reply(fmt::format("421 4.4.2 {} Timed out after {}s (timeout); closing the connection",
                          s.svc.hostname, s.settings->timeout.count()));
      break;
  }
}

const core::protocol_spec<state> spec{"lmtp", table, 20, parse_line, max_line, say};

}  // namespace

const core::protocol_spec<state>& protocol() { return spec; }

}  // namespace postern::session::lmtp
