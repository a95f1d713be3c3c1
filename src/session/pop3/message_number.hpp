// Resolving a message number against the session's maildrop, with the
// RFC 1939 errors for out-of-range and deleted messages.
#pragma once

#include <cstdint>

#include "session/pop3/state.hpp"

namespace postern::session::pop3 {

// Returns the entry, or nullptr after queuing an -ERR that says why.
maildrop_entry* find_message(session& s, uint32_t number);

}  // namespace postern::session::pop3
