// AUTH (RFC 4954) through the engine's shared SASL exchange and pre-login
// defence: PLAIN and LOGIN, only after TLS unless login_type = plaintext.
#include <fmt/format.h>

#include "base/strings.hpp"
#include "observe/log.hpp"
#include "session/core/login.hpp"
#include "session/core/sasl.hpp"
#include "session/submission/commands.hpp"

namespace postern::session::submission {

namespace {

core::login_limits limits_of(const directory::submission_settings& p) {
  core::login_limits l;
  l.max_connections_per_user = p.max_connections_per_user;
  l.defence.first_delay = p.login_failure_delay;
  l.defence.max_delay = p.login_failure_delay_max;
  l.defence.block_threshold = p.login_block_threshold;
  l.defence.window = p.login_block_window;
  return l;
}

}  // namespace

net::awaitable<void> cmd_auth(state& s, std::string_view args) {
  if (!s.plaintext_login_allowed()) {
    s.reply(
        "538 5.7.11 Encryption required: send STARTTLS first, or connect to the implicit-TLS "
        "port (login_type = secure)");
    co_return;
  }
  auto a = base::trim(args);
  if (a.empty()) {
    s.reply(fmt::format("501 5.5.4 AUTH needs a mechanism: {}", core::sasl_mechanism_list()));
    co_return;
  }
  auto sp = a.find(' ');
  auto mech = a.substr(0, sp);
  std::optional<std::string_view> initial;
  if (sp != std::string_view::npos) initial = base::trim(a.substr(sp + 1));
  // RFC 4954 §4: "=" is an empty initial response.
  if (initial && *initial == "=") initial = std::string_view();
  auto outcome = co_await core::run_sasl(s, mech, initial, "334 ");
  switch (outcome.what) {
    case core::sasl_outcome::kind::password:
      break;
    case core::sasl_outcome::kind::cancelled:
      s.reply("501 5.0.0 Authentication cancelled by the client");
      co_return;
    case core::sasl_outcome::kind::malformed:
      s.reply(fmt::format("501 5.5.2 {}", outcome.words));
      co_return;
    case core::sasl_outcome::kind::unsupported:
      s.reply(fmt::format("504 5.5.4 {}", outcome.words));
      co_return;
    case core::sasl_outcome::kind::lost:
      s.quit = true;
      co_return;
  }
  auto& c = outcome.creds;
  if (!c.authzid.empty() && !base::iequals(c.authzid, c.authcid)) {
    s.reply("535 5.7.8 Logging in as another user (SASL authorization identity) is not permitted");
    co_return;
  }
  auto limits = limits_of(*s.settings);
  auto login = co_await core::log_in(s, c.authcid, std::move(c.password), limits);
  using kind = core::login_outcome::kind;
  switch (login.what) {
    case kind::ok:
      break;
    case kind::failed:
      s.reply(fmt::format("535 {} Authentication failed: unknown user name or wrong password",
                          core::refusal_code("submission", login.what)));
      co_return;
    case kind::blocked:
    case kind::user_limit:
    case kind::throttled:
      s.reply(
          fmt::format("454 {} {}", core::refusal_code("submission", login.what), login.message));
      co_return;
    case kind::disabled:
      s.reply(
          fmt::format("535 {} {}", core::refusal_code("submission", login.what), login.message));
      co_return;
    case kind::unavailable:
      s.reply(fmt::format("454 4.7.0 The directory is unavailable; try again later (session {})",
                          s.id));
      co_return;
  }
  s.user = login.user.address;
  s.user_id = login.user.id;
  s.user_lease = std::move(login.lease);
  s.budget = std::move(login.budget);
  s.logged_in();
  s.stage = phase::authenticated;
  s.conn->clear_phase_deadline();
  s.conn->set_timeout(s.settings->authenticated_timeout);
  observe::log(observe::level::info, "submission", s.id, "login {} from {}", s.user,
               s.conn->remote_ip());
  s.reply("235 2.7.0 Authentication successful");
}

}  // namespace postern::session::submission
