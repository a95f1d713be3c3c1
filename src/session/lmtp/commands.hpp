// The LMTP command table (RFC 2033 on RFC 5321's grammar) and its handlers:
// envelope commands in commands.cpp, DATA in data.cpp.
#pragma once

#include <string_view>

#include "session/core/engine.hpp"
#include "session/lmtp/state.hpp"

namespace postern::session::lmtp {

const core::protocol_spec<state>& protocol();

net::awaitable<void> cmd_data(state& s, std::string_view args);

}  // namespace postern::session::lmtp
