// Component states at the door (seed 003: never a blank screen): a new
// connection to a component that is inactive or draining (`postern component
// set`) is told so in its greeting, with who set it, when and why, and closed.
#pragma once

#include <optional>
#include <string>

#include "session/core/session_base.hpp"

namespace postern::session::core {

// The words for the refusal when the session's protocol (or serverwide) is
// not active; logs the refusal (rate-limited) with the session id.
std::optional<std::string> out_of_service(session_base& s);

}  // namespace postern::session::core
