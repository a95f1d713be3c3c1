// Authorization-state commands: CAPA (RFC 2449), STLS (RFC 2595), UTF8
// (RFC 6856), USER/PASS (RFC 1939 §7) and AUTH (RFC 5034).
#include <fmt/format.h>

#include "base/strings.hpp"
#include "session/core/handshake.hpp"
#include "session/core/sasl.hpp"
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
  bool secured = co_await core::start_tls(s);
  if (!secured) co_return;
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

net::awaitable<void> cmd_auth(session& s, std::string_view args) {
  auto a = base::trim(args);
  if (a.empty()) {
    // Listing mechanisms with a bare AUTH predates RFC 5034; Outlook and
    // Thunderbird still probe with it.
    s.ok("Supported SASL mechanisms follow");
    for (auto m : proto::sasl::supported_mechanisms()) {
      s.out += m;
      s.out += "\r\n";
    }
    s.out += ".\r\n";
    co_return;
  }
  if (!s.plaintext_login_allowed()) {
    s.err(s.plaintext_refusal());
    co_return;
  }
  auto sp = a.find(' ');
  auto mech = a.substr(0, sp);
  std::optional<std::string_view> initial;
  if (sp != std::string_view::npos) initial = base::trim(a.substr(sp + 1));
  // RFC 5034 §4: "=" is an empty initial response.
  if (initial && *initial == "=") initial = std::string_view();
  auto outcome = co_await core::run_sasl(s, mech, initial, "+ ");
  switch (outcome.what) {
    case core::sasl_outcome::kind::password:
      break;
    case core::sasl_outcome::kind::cancelled:
      s.err("Authentication cancelled by the client");
      co_return;
    case core::sasl_outcome::kind::malformed:
      s.err(fmt::format("[AUTH] {}", outcome.words));
      co_return;
    case core::sasl_outcome::kind::unsupported:
      s.err(outcome.words);
      co_return;
    case core::sasl_outcome::kind::lost:
      s.quit = true;
      co_return;
  }
  auto& c = outcome.creds;
  if (!c.authzid.empty() && c.authzid != c.authcid) {
    s.err("[AUTH] Logging in as another user (SASL authorization identity) is not permitted");
    co_return;
  }
  co_await log_in(s, std::move(c.authcid), std::move(c.password));
}

}  // namespace postern::session::pop3
