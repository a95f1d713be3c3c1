// Authorization-state commands: CAPA (RFC 2449), STLS (RFC 2595), UTF8
// (RFC 6856), USER/PASS (RFC 1939 §7) and AUTH (RFC 5034).
#include <fmt/format.h>

#include "base/strings.hpp"
#include "observe/log.hpp"
#include "proto/sasl/plain.hpp"
#include "session/pop3/commands.hpp"
#include "session/pop3/login.hpp"

namespace postern::session::pop3 {

net::awaitable<void> cmd_capa(session& s, std::string_view) {
  s.ok("Capability list follows");
  s.out += command_capabilities(s);
  // Properties of the session as a whole rather than of one command.
  s.out += "RESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nIMPLEMENTATION Postern\r\n.\r\n";
  co_return;
}

net::awaitable<void> cmd_stls(session& s, std::string_view) {
  if (s.conn->tls_active()) {
    s.err("TLS is already active on this connection");
    co_return;
  }
  if (!s.conn->tls_available()) {
    s.err("STLS is not offered on this port (its listener has tls = \"none\")");
    co_return;
  }
  s.ok("Begin TLS negotiation now");
  bool sent = co_await s.flush();
  if (!sent) co_return;
  // RFC 2595 §4: anything pipelined after STLS is discarded by start_tls().
  bool secured = co_await s.conn->start_tls();
  if (!secured) {
    observe::log(observe::level::info, "pop3", s.id, "TLS handshake failed from {}",
                 s.conn->remote_ip());
    s.quit = true;
    s.conn->close();
  }
  s.pending_user.clear();
}

net::awaitable<void> cmd_utf8(session& s, std::string_view) {
  s.utf8 = true;
  s.ok("UTF8 enabled");
  co_return;
}

net::awaitable<void> cmd_user(session& s, std::string_view args) {
  if (!s.plaintext_login_allowed()) {
    s.err(s.plaintext_refusal());
    co_return;
  }
  auto name = base::trim(args);
  if (name.empty()) {
    s.err("USER needs a user name: USER joe@example.com");
    co_return;
  }
  s.pending_user = std::string(name);
  s.ok("Send PASS with the password");
}

net::awaitable<void> cmd_pass(session& s, std::string_view args) {
  if (!s.plaintext_login_allowed()) {
    s.err(s.plaintext_refusal());
    co_return;
  }
  if (s.pending_user.empty()) {
    s.err("PASS must follow USER: send USER with your user name first");
    co_return;
  }
  auto user = std::move(s.pending_user);
  s.pending_user.clear();
  std::string password(args);
  co_await log_in(s, std::move(user), std::move(password));
}

namespace {

// Reads one SASL continuation line; nullopt when the client cancelled ("*")
// or the connection ended (the session is then marked to quit).
net::awaitable<std::optional<std::string>> read_sasl_line(session& s, std::string_view prompt) {
  s.out += "+ ";
  s.out += prompt;
  s.out += "\r\n";
  bool sent = co_await s.flush();
  if (!sent) {
    s.quit = true;
    co_return std::nullopt;
  }
  std::string line;
  auto st = co_await s.conn->read_line(line, 4096);
  if (st == net::read_status::too_long) {
    s.err("[AUTH] SASL response too long (over 4096 bytes)");
    co_return std::nullopt;
  }
  if (st != net::read_status::ok) {
    s.quit = true;
    co_return std::nullopt;
  }
  if (line == "*") {
    s.err("Authentication cancelled by the client");
    co_return std::nullopt;
  }
  co_return line;
}

}  // namespace

net::awaitable<void> cmd_auth(session& s, std::string_view args) {
  auto a = base::trim(args);
  if (a.empty()) {
    // Listing mechanisms with a bare AUTH predates RFC 5034; Outlook and
    // Thunderbird still probe with it.
    s.ok("Supported SASL mechanisms follow");
    s.out += "PLAIN\r\nLOGIN\r\n.\r\n";
    co_return;
  }
  if (!s.plaintext_login_allowed()) {
    s.err(s.plaintext_refusal());
    co_return;
  }
  auto sp = a.find(' ');
  auto mech = base::to_upper(a.substr(0, sp));
  std::optional<std::string> initial;
  if (sp != std::string_view::npos) initial = std::string(base::trim(a.substr(sp + 1)));
  // RFC 5034 §4: "=" is an empty initial response.
  if (initial && *initial == "=") initial = std::string();

  if (mech == "PLAIN") {
    if (!initial) {
      initial = co_await read_sasl_line(s, "");
      if (!initial) co_return;
    }
    auto creds = proto::sasl::decode_plain(*initial);
    if (!creds) {
      s.err(
          "[AUTH] Malformed SASL PLAIN response (RFC 4616: base64 of authzid NUL user NUL "
          "password)");
      co_return;
    }
    if (!creds->authzid.empty() && creds->authzid != creds->authcid) {
      s.err("[AUTH] Logging in as another user (SASL authorization identity) is not permitted");
      co_return;
    }
    co_await log_in(s, creds->authcid, creds->password);
    co_return;
  }
  if (mech == "LOGIN") {
    std::optional<std::string> user64 = initial;
    if (!user64 || user64->empty()) {
      user64 = co_await read_sasl_line(s, "VXNlcm5hbWU6");  // "Username:"
      if (!user64) co_return;
    }
    auto pass64 = co_await read_sasl_line(s, "UGFzc3dvcmQ6");  // "Password:"
    if (!pass64) co_return;
    auto user = base::base64_decode(*user64);
    auto pass = base::base64_decode(*pass64);
    if (!user || !pass || user->empty()) {
      s.err("[AUTH] Malformed SASL LOGIN response: expected base64 user name and password");
      co_return;
    }
    co_await log_in(s, *user, *pass);
    co_return;
  }
  s.err(fmt::format("Unsupported SASL mechanism {} (supported: PLAIN LOGIN)",
                    base::printable(mech, 20)));
}

}  // namespace postern::session::pop3
