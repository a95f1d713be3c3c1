// The one registry of protocols a node serves: configuration checking,
// `serve` and the CLI's `PROTOCOL get|set` all find them here. Adding a
// protocol = its session (command table), its settings schema
// (directory/settings_schema.cpp) and one row here.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "net/server.hpp"
#include "session/services.hpp"

namespace postern::admin {

using session_runner = net::awaitable<void> (*)(session::services&,
                                                std::shared_ptr<net::connection>,
                                                const net::listener_spec&);

struct protocol_kind {
  std::string_view name;         // as in postern.toml `protocol = "pop3"` and `postern pop3 get`
  std::string_view description;  // for --help
  session_runner run;
};

std::span<const protocol_kind> protocols();
const protocol_kind* find_protocol(std::string_view name);
// "pop3, lmtp": for messages that list what is possible.
std::string protocol_names();

}  // namespace postern::admin
