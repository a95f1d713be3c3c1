// The POP3 command table and the handlers it names, one group of verbs per
// file under commands/. The table (commands.cpp) is the only place that
// names verbs: dispatch, states, pipelining, capabilities, masking.
#pragma once

#include <string>
#include <string_view>

#include "proto/pop3/arguments.hpp"
#include "session/core/engine.hpp"
#include "session/pop3/state.hpp"

namespace postern::session::pop3 {

const core::protocol_spec<session>& protocol();

// The CAPA lines the command table contributes for this session's state.
std::string command_capabilities(const session& s);

// Handlers.
net::awaitable<void> cmd_capa(session&, std::string_view);
net::awaitable<void> cmd_stls(session&, std::string_view);
net::awaitable<void> cmd_utf8(session&, std::string_view);
net::awaitable<void> cmd_user(session&, std::string_view);
net::awaitable<void> cmd_pass(session&, std::string_view);
net::awaitable<void> cmd_auth(session&, std::string_view);
net::awaitable<void> cmd_stat(session&, std::string_view);
net::awaitable<void> cmd_list(session&, const proto::pop3::optional_message_arg&);
net::awaitable<void> cmd_uidl(session&, const proto::pop3::optional_message_arg&);
net::awaitable<void> cmd_dele(session&, const proto::pop3::message_arg&);
net::awaitable<void> cmd_rset(session&, std::string_view);
net::awaitable<void> cmd_noop(session&, std::string_view);
net::awaitable<void> cmd_retr(session&, const proto::pop3::message_arg&);
net::awaitable<void> cmd_top(session&, const proto::pop3::top_args&);
net::awaitable<void> cmd_quit(session&, std::string_view);

}  // namespace postern::session::pop3
