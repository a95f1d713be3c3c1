// The submission command table and its handlers: session and envelope
// commands in commands.cpp, AUTH in auth.cpp, DATA in data.cpp.
#pragma once

#include <string_view>

#include "session/core/engine.hpp"
#include "session/submission/state.hpp"

namespace postern::session::submission {

const core::protocol_spec<state>& protocol();

net::awaitable<void> cmd_auth(state& s, std::string_view args);
net::awaitable<void> cmd_data(state& s, std::string_view args);
net::awaitable<void> cmd_bdat(state& s, std::string_view args);

}  // namespace postern::session::submission
