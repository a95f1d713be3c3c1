// The LMTP command table (RFC 2033, RFC 5321 grammar): each verb and its
// handler. Dispatch and bad-command counting are in session.cpp.
#pragma once

#include <string_view>

#include "net/asio.hpp"
#include "session/lmtp/state.hpp"

namespace postern::session::lmtp {

using handler = net::awaitable<void> (*)(state&, std::string_view args);

struct command_spec {
  std::string_view verb;
  handler run;
};

const command_spec* find_command(std::string_view verb);

// DATA (data.cpp): reads the message and stores it once per recipient.
net::awaitable<void> cmd_data(state& s, std::string_view args);

}  // namespace postern::session::lmtp
