// The one mapping of domain errors to SMTP reply and enhanced status codes
// (RFC 3463) for LMTP and submission: a full disk, a quota, a missing mailbox
// and a busy store each get their own.
#pragma once

#include "base/error.hpp"

namespace postern::session::smtp {

// "552 5.2.2" and the like.
const char* reply_code_of(base::errc e);

}  // namespace postern::session::smtp
