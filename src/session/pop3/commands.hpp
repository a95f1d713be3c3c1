// The POP3 command table: each verb, the states it is valid in and its
// handler. Dispatch, state checks and CAPA come from here; no other switch
// names commands.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "net/asio.hpp"
#include "session/pop3/state.hpp"

namespace postern::session::pop3 {

using handler = net::awaitable<void> (*)(session&, std::string_view args);

struct command_spec {
  std::string_view verb;
  uint8_t phases;  // bit set of phase values
  handler run;
  std::string_view capability = {};  // its CAPA line (RFC 2449 §6), if any
};

const command_spec* find_command(std::string_view verb);
// The CAPA lines the command table contributes for this session's state.
std::string command_capabilities(const session& s);

// Handlers, one group of verbs per file under commands/.
net::awaitable<void> cmd_capa(session&, std::string_view);
net::awaitable<void> cmd_stls(session&, std::string_view);
net::awaitable<void> cmd_utf8(session&, std::string_view);
net::awaitable<void> cmd_user(session&, std::string_view);
net::awaitable<void> cmd_pass(session&, std::string_view);
net::awaitable<void> cmd_auth(session&, std::string_view);
net::awaitable<void> cmd_stat(session&, std::string_view);
net::awaitable<void> cmd_list(session&, std::string_view);
net::awaitable<void> cmd_uidl(session&, std::string_view);
net::awaitable<void> cmd_dele(session&, std::string_view);
net::awaitable<void> cmd_rset(session&, std::string_view);
net::awaitable<void> cmd_noop(session&, std::string_view);
net::awaitable<void> cmd_retr(session&, std::string_view);
net::awaitable<void> cmd_top(session&, std::string_view);
net::awaitable<void> cmd_quit(session&, std::string_view);

}  // namespace postern::session::pop3
