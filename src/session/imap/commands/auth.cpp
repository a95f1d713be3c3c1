// Commands of any state and of the not-authenticated state: CAPABILITY, NOOP,
// LOGOUT (RFC 9051 §6.1), STARTTLS, LOGIN, AUTHENTICATE (§6.2), ID
// (RFC 2971), ENABLE (RFC 5161), UNAUTHENTICATE (RFC 8437).
#include <fmt/format.h>

#include "base/strings.hpp"
#include "net/blocking.hpp"
#include "observe/log.hpp"
#include "proto/imap/tokenizer.hpp"
#include "session/core/handshake.hpp"
#include "session/core/login.hpp"
#include "session/core/sasl.hpp"
#include "session/imap/commands.hpp"
#include "session/imap/login.hpp"

namespace postern::session::imap {

using proto::imap::cursor;

net::awaitable<void> cmd_capability(session& s, std::string_view) {
  s.untagged("CAPABILITY " + capability_list(s));
  s.ok("CAPABILITY completed");
  co_return;
}

net::awaitable<void> cmd_noop(session& s, std::string_view) {
  s.ok("NOOP completed");
  co_return;
}

net::awaitable<void> cmd_logout(session& s, std::string_view) {
  s.untagged("BYE Logging out");
  s.ok("LOGOUT completed");
  s.quit = true;
  co_return;
}

net::awaitable<void> cmd_starttls(session& s, std::string_view) {
  if (s.conn->tls_active()) {
    s.bad("TLS is already active on this connection");
    co_return;
  }
  if (!s.conn->tls_available()) {
    s.no("STARTTLS is not offered on this port (its listener has tls = \"none\")");
    co_return;
  }
  s.ok("Begin TLS negotiation now");
  s.out += s.completion;
  s.completion.clear();
  bool sent = co_await s.flush();
  if (!sent) co_return;
  // RFC 9051 §6.2.1: anything pipelined after STARTTLS is discarded.
  co_await core::start_tls(s);
}

net::awaitable<void> cmd_login(session& s, std::string_view args) {
  if (!s.plaintext_login_allowed()) {
    s.no(
        "[PRIVACYREQUIRED] LOGIN needs TLS first (login_type = secure): use STARTTLS or the "
        "implicit-TLS port");
    co_return;
  }
  cursor c(args);
  auto user = c.read_astring("a user name");
  if (!user) {
    s.bad(user.error().words + "; usage: LOGIN user password");
    co_return;
  }
  if (auto sp = c.expect_sp("after the user name"); !sp) {
    s.bad(sp.error().words + "; usage: LOGIN user password");
    co_return;
  }
  auto pass = c.read_astring("a password");
  if (!pass || !c.at_end()) {
    s.bad("expected a password after the user name; usage: LOGIN user password");
    co_return;
  }
  co_await log_in(s, std::move(*user), std::move(*pass));
}

net::awaitable<void> cmd_authenticate(session& s, std::string_view args) {
  if (!s.plaintext_login_allowed()) {
    s.no(
        "[PRIVACYREQUIRED] AUTHENTICATE needs TLS first (login_type = secure): use STARTTLS "
        "or the implicit-TLS port");
    co_return;
  }
  auto a = base::trim(args);
  auto sp = a.find(' ');
  auto mech = a.substr(0, sp);
  if (mech.empty()) {
    s.bad("AUTHENTICATE needs a mechanism: " + core::sasl_mechanism_list());
    co_return;
  }
  std::optional<std::string_view> initial;
  if (sp != std::string_view::npos) initial = base::trim(a.substr(sp + 1));
  // RFC 4959 §3: "=" is an empty initial response.
  if (initial && *initial == "=") initial = std::string_view();
  auto outcome = co_await core::run_sasl(s, mech, initial, "+ ");
  switch (outcome.what) {
    case core::sasl_outcome::kind::password:
      break;
    case core::sasl_outcome::kind::cancelled:
      s.bad("Authentication cancelled by the client");
      co_return;
    case core::sasl_outcome::kind::malformed:
      s.bad(outcome.words);
      co_return;
    case core::sasl_outcome::kind::unsupported:
      s.no("[CANNOT] " + outcome.words);
      co_return;
    case core::sasl_outcome::kind::lost:
      s.quit = true;
      co_return;
  }
  auto& c = outcome.creds;
  if (!c.authzid.empty() && c.authzid != c.authcid) {
    s.no(
        "[AUTHORIZATIONFAILED] Logging in as another user (SASL authorization identity) is "
        "not permitted");
    co_return;
  }
  co_await log_in(s, std::move(c.authcid), std::move(c.password));
}

net::awaitable<void> cmd_unauthenticate(session& s, std::string_view) {
  log_out(s);
  s.ok("Not authenticated any more; log in again");
  co_return;
}

net::awaitable<void> cmd_id(session& s, std::string_view args) {
  // RFC 2971: the client's ID is logged (it tells an administrator which
  // client and version a user runs); ours names the server only.
  observe::log(observe::level::info, "imap", s.id, "client ID from {}: {}", s.who(),
               base::printable(args, 300));
  s.untagged("ID (\"name\" \"Postern\" \"version\" \"" POSTERN_VERSION "\")");
  s.ok("ID completed");
  co_return;
}

net::awaitable<void> cmd_compress(session& s, std::string_view args) {
  if (!base::iequals(base::trim(args), "DEFLATE")) {
    s.bad("usage: COMPRESS DEFLATE (the only algorithm, RFC 4978)");
    co_return;
  }
  if (s.conn->compression_active()) {
    s.no("[COMPRESSIONACTIVE] DEFLATE is already active on this connection");
    co_return;
  }
  s.ok("DEFLATE active");
  s.out += s.completion;
  s.completion.clear();
  bool sent = co_await s.flush();
  if (!sent) co_return;
  // RFC 4978 §3: everything after the OK is compressed, both ways.
  if (!s.conn->start_compression()) s.quit = true;
}

net::awaitable<void> cmd_enable(session& s, std::string_view args) {
  cursor c(args);
  std::string enabled;
  while (!c.at_end()) {
    auto a = c.read_atom("a capability name");
    if (!a) {
      s.bad(a.error().words);
      co_return;
    }
    auto name = base::to_upper(*a);
    bool known = true;
    if (name == "IMAP4REV2") {
      s.rev2 = true;
    } else if (name == "UTF8=ACCEPT") {
      s.utf8_accept = true;
    } else if (name == "CONDSTORE") {
      s.condstore = true;
    } else if (name == "QRESYNC") {
      s.qresync = s.condstore = true;
    } else {
      known = false;  // RFC 5161 §3.1: unknown names are ignored
    }
    if (known) enabled += " " + std::string(*a);
    if (!c.at_end() && !c.expect_sp()) {
      s.bad("expected SP between capability names");
      co_return;
    }
  }
  s.untagged("ENABLED" + enabled);
  s.ok("ENABLE completed");
  co_return;
}

}  // namespace postern::session::imap
