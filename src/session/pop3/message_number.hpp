// Resolving a message-number argument against the session's maildrop, with
// the RFC 1939 errors for out-of-range, malformed and deleted messages.
#pragma once

#include <string_view>

#include "session/pop3/state.hpp"

namespace postern::session::pop3 {

// Returns the entry, or nullptr after queuing an -ERR that says why.
maildrop_entry* find_message(session& s, std::string_view arg);

}  // namespace postern::session::pop3
