// The submission command table (RFC 6409 on RFC 5321's grammar) and the
// session and envelope commands: EHLO, HELO, STARTTLS (RFC 3207), MAIL, RCPT,
// RSET, NOOP, VRFY, QUIT. AUTH is in auth.cpp, DATA in data.cpp.
#include "session/submission/commands.hpp"

#include <fmt/format.h>

#include "base/strings.hpp"
#include "net/blocking.hpp"
#include "observe/log.hpp"
#include "proto/smtp/command.hpp"
#include "session/core/handshake.hpp"
#include "session/core/login.hpp"
#include "session/core/sasl.hpp"
#include "session/submission/send_as.hpp"

namespace postern::session::submission {

namespace {

using core::pipelined;
using core::secret;
using core::unbudgeted;
using row = core::command_row<state>;

constexpr uint8_t connected = static_cast<uint8_t>(phase::connected);
constexpr uint8_t greeted = static_cast<uint8_t>(phase::greeted);
constexpr uint8_t authed = static_cast<uint8_t>(phase::authenticated);
constexpr uint8_t mail = static_cast<uint8_t>(phase::mail);
constexpr uint8_t rcpt = static_cast<uint8_t>(phase::rcpt);
constexpr uint8_t any = connected | greeted | authed | mail | rcpt;

std::string cap_size(const state& s) {
  return fmt::format("SIZE {}", s.settings->max_message_size);
}
std::string cap_8bitmime(const state&) { return "8BITMIME"; }
std::string cap_chunking(const state&) { return "CHUNKING"; }
std::string cap_starttls(const state& s) {
  return s.conn->tls_available() && !s.conn->tls_active() ? "STARTTLS" : "";
}
// RFC 4954 §4: AUTH is offered only where a password may be sent.
std::string cap_auth(const state& s) {
  if (s.stage != phase::greeted || !s.plaintext_login_allowed()) return "";
  return "AUTH " + core::sasl_mechanism_list();
}

const row* table_begin();
size_t table_size();

net::awaitable<void> cmd_ehlo(state& s, std::string_view args) {
  auto name = base::trim(args);
  if (name.empty()) {
    s.reply("501 5.5.4 EHLO needs your host name");
    co_return;
  }
  s.client_name = base::printable(name, 100);
  s.esmtp = true;
  s.reset();
  if (s.stage == phase::connected) s.stage = phase::greeted;
  // RFC 5321 §4.1.1.1: the extensions come from the table, the rest are
  // properties of the whole session.
  std::vector<std::string> lines{fmt::format("{} greets {}", s.svc.hostname, s.client_name),
                                 "PIPELINING", "ENHANCEDSTATUSCODES", "SMTPUTF8", "DSN"};
  // RFC 8689 §4.1: REQUIRETLS is offered only on a TLS session.
  if (s.conn->tls_active()) lines.emplace_back("REQUIRETLS");
  for (auto& c : core::offered_capabilities<state>(s, {table_begin(), table_size()}))
    lines.push_back(std::move(c));
  for (size_t i = 0; i < lines.size(); ++i)
    s.reply(fmt::format("250{}{}", i + 1 < lines.size() ? "-" : " ", lines[i]));
}

net::awaitable<void> cmd_helo(state& s, std::string_view args) {
  auto name = base::trim(args);
  if (name.empty()) {
    s.reply("501 5.5.4 HELO needs your host name");
    co_return;
  }
  s.client_name = base::printable(name, 100);
  s.esmtp = false;
  s.reset();
  if (s.stage == phase::connected) s.stage = phase::greeted;
  s.reply(fmt::format("250 {} greets {}", s.svc.hostname, s.client_name));
}

net::awaitable<void> cmd_mail(state& s, std::string_view args) {
  auto parsed = proto::smtp::parse_path(args, "FROM:", true);
  if (auto* f = std::get_if<proto::smtp::path_failure>(&parsed)) {
    s.reply(smtp::path_failure_reply(*f, true));
    co_return;
  }
  auto path = std::get<proto::smtp::path_argument>(parsed);
  // SMTPUTF8 (RFC 6531 §3.4) is this command's business, SIZE and BODY the
  // envelope's.
  bool utf8 = false;
  std::erase_if(path.params, [&](auto& p) {
    if (p.first != "SMTPUTF8") return false;
    utf8 = true;
    return true;
  });
  if (path.utf8 && !utf8) {
    s.reply("553 5.6.7 A UTF-8 address needs MAIL FROM:<...> SMTPUTF8 (RFC 6531)");
    co_return;
  }
  bool requiretls = false;
  std::erase_if(path.params, [&](auto& p) {
    if (p.first != "REQUIRETLS") return false;
    requiretls = true;
    return true;
  });
  if (requiretls && !s.conn->tls_active()) {
    s.reply("530 5.7.10 REQUIRETLS needs a TLS session (RFC 8689 §4.1)");
    co_return;
  }
  smtp::dsn_mail dsn;
  if (auto bad = smtp::take_dsn_mail_params(path, dsn); !bad.empty()) {
    s.reply(bad);
    co_return;
  }
  // RFC 6409 §6.1: the sender must be the user's own.
  auto sender = base::normalize_address(path.address);
  auto& dir = s.svc.dir;
  auto user = s.user;
  auto check = [&dir, user, sender] { return may_send_as(dir, user, sender); };
  auto verdict = co_await net::run_blocking(std::move(check));
  if (!verdict.allowed) {
    observe::log(observe::level::warning, "submission", s.id, "MAIL FROM refused for {}: {}",
                 s.who(), verdict.words);
    s.reply("550 5.7.1 " + verdict.words);
    co_return;
  }
  if (s.svc.send_rate) {
    if (auto wait = s.svc.send_rate->refusal(s.user, s.settings->max_messages_per_hour)) {
      observe::log(observe::level::warning, "submission", s.id, "MAIL FROM refused for {}: {}",
                   s.who(), *wait);
      s.reply("451 4.7.0 " + *wait);
      co_return;
    }
  }
  auto refusal = smtp::apply_mail_parameters(path, s.settings->max_message_size, s.env);
  if (!refusal.empty()) {
    s.reply(refusal);
    co_return;
  }
  s.env.sender = sender;
  s.smtputf8 = utf8;
  s.requiretls = requiretls;
  s.dsn = std::move(dsn);
  s.stage = phase::mail;
  s.reply(fmt::format("250 2.1.0 <{}> OK", base::printable(sender, 200)));
}

// A recipient with no mailbox here: a typo when its domain is ours, else
// mail for the outbound queue, when there is a relay to take it.
net::awaitable<void> remote_recipient(state& s, const std::string& address, smtp::dsn_rcpt dsn) {
  auto domain = address.substr(address.rfind('@') == std::string::npos ? address.size()
                                                                       : address.rfind('@') + 1);
  auto& dir = s.svc.dir;
  auto check = [&dir, domain] { return dir.is_local_domain(domain); };
  auto local = co_await net::run_blocking(std::move(check));
  if (domain.empty() || (local && *local)) {
    s.reply(fmt::format("550 5.1.1 <{}>: no such user here", base::printable(address, 100)));
    co_return;
  }
  if (!s.svc.queue) {
    s.reply(fmt::format(
        "550 5.7.1 <{}>: not a mailbox here, and this node relays to no other server ([relay] "
        "host is not set in the node's configuration)",
        base::printable(address, 100)));
    co_return;
  }
  s.env.recipients.push_back(
      smtp::recipient{address, 0, std::move(dsn.notify), std::move(dsn.orcpt)});
  s.stage = phase::rcpt;
  s.reply(fmt::format("250 2.1.5 <{}> OK, to be relayed", base::printable(address, 200)));
}

net::awaitable<void> cmd_rcpt(state& s, std::string_view args) {
  auto parsed = proto::smtp::parse_path(args, "TO:", false);
  if (auto* f = std::get_if<proto::smtp::path_failure>(&parsed)) {
    s.reply(smtp::path_failure_reply(*f, false));
    co_return;
  }
  auto& path = std::get<proto::smtp::path_argument>(parsed);
  smtp::dsn_rcpt dsn;
  if (auto bad = smtp::take_dsn_rcpt_params(path, dsn); !bad.empty()) {
    s.reply(bad);
    co_return;
  }
  if (!path.params.empty()) {
    s.reply(fmt::format("555 5.5.4 Unsupported RCPT TO parameter {}",
                        base::printable(path.params.front().first, 30)));
    co_return;
  }
  if (path.utf8 && !s.smtputf8) {
    s.reply("553 5.6.7 A UTF-8 address needs MAIL FROM:<...> SMTPUTF8 (RFC 6531)");
    co_return;
  }
  if (s.env.recipients.size() >= s.settings->max_recipients) {
    s.reply(fmt::format("452 4.5.3 Too many recipients: at most {} per message (max_recipients)",
                        s.settings->max_recipients));
    co_return;
  }
  auto address = base::normalize_address(path.address);
  auto& dir = s.svc.dir;
  auto lookup = [&dir, address] { return dir.find_recipient(address); };
  auto user = co_await net::run_blocking(std::move(lookup));
  if (!user) {
    if (user.err().code == base::errc::not_found) {
      co_await remote_recipient(s, address, std::move(dsn));
    } else {
      observe::log(observe::level::error, "submission", s.id, "directory lookup failed: {} ({})",
                   user.err().message, user.err().detail);
      s.reply(fmt::format("451 4.3.0 <{}>: directory unavailable, try again later (session {})",
                          base::printable(address, 100), s.id));
    }
    co_return;
  }
  s.env.recipients.push_back(
      smtp::recipient{user->address, user->id, std::move(dsn.notify), std::move(dsn.orcpt)});
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
  // RFC 3207 §4.2: everything learned before TLS is forgotten.
  s.stage = phase::connected;
  s.client_name.clear();
  s.reset();
}

net::awaitable<void> cmd_quit(state& s, std::string_view) {
  s.reply(fmt::format("221 2.0.0 {} closing connection", s.svc.hostname));
  s.quit = true;
  co_return;
}

const row table[] = {
    {"EHLO", any, pipelined, secret::none, cmd_ehlo},
    {"HELO", any, pipelined, secret::none, cmd_helo},
    {"STARTTLS", connected | greeted, 0, secret::none, cmd_starttls, cap_starttls},
    {"AUTH", greeted, 0, secret::after_first_word, cmd_auth, cap_auth},
    {"MAIL", authed, pipelined, secret::none, cmd_mail, cap_size},
    {"RCPT", mail | rcpt, pipelined, secret::none, cmd_rcpt},
    {"DATA", rcpt, 0, secret::none, cmd_data, cap_8bitmime},
    // Allowed wherever a transaction could be, so a refused chunk's bytes
    // are still read and never taken for commands.
    {"BDAT", any, pipelined, secret::none, cmd_bdat, cap_chunking},
    {"RSET", any, pipelined, secret::none, cmd_rset},
    {"NOOP", any, pipelined, secret::none, cmd_noop},
    {"VRFY", any, pipelined, secret::none, cmd_vrfy},
    {"QUIT", any, pipelined | unbudgeted, secret::none, cmd_quit},
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

// Generous next to RFC 5321 §4.5.3.1.4's 512 for command lines; AUTH's
// initial response is the longest (RFC 4954 §4: 12288 octets).
size_t max_line(const state&) { return 12288; }

// The RFC 5321 §4.1.4 and RFC 4954 ordering replies: what to send first.
std::string order_reply(const state& s, std::string_view verb) {
  if (s.stage == phase::connected) return "503 5.5.1 Send EHLO first";
  if (verb == "AUTH")
    return s.stage == phase::greeted ? "503 5.5.1 AUTH is not allowed now"
                                     : "503 5.5.1 Already authenticated";
  if (s.stage == phase::greeted) return "530 5.7.0 Authentication required: send AUTH first";
  if (verb == "MAIL") return "503 5.5.1 A transaction is already open: send RSET first";
  if (verb == "DATA" && s.stage == phase::mail)
    return "503 5.5.1 No valid recipients: send RCPT TO first";
  if (verb == "STARTTLS") return "503 5.5.1 STARTTLS is not allowed after AUTH";
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
    case core::event::timed_out: {
      bool before_login = s.user.empty();
      auto setting = before_login ? "preauthenticated_timeout" : "authenticated_timeout";
      auto limit =
          before_login ? s.settings->preauthenticated_timeout : s.settings->authenticated_timeout;
      observe::log(observe::level::info, "submission", s.id,
                   "idle timeout ({}) for {}; connection closed", setting, s.who());
      s.reply(fmt::format("421 4.4.2 {} Timed out after {}s ({}); closing the connection",
                          s.svc.hostname, limit.count(), setting));
      break;
    }
  }
}

const core::protocol_spec<state> spec{"submission", table, 20, parse_line, max_line, say};

}  // namespace

bool state::plaintext_login_allowed() const {
  return core::plaintext_login_allowed(*conn, settings->login, settings->secure_networks);
}

const core::protocol_spec<state>& protocol() { return spec; }

}  // namespace postern::session::submission
