// The user's QUOTA (RFC 9208, set by `postern user set`) at delivery: a full
// mailbox refuses the message for that recipient (over_quota: 552 5.2.2),
// for LMTP and submission alike.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/error.hpp"
#include "directory/directory.hpp"
#include "store/store.hpp"

namespace postern::session::smtp {

// ok, or over_quota naming the usage and the limits; the blocking reads of
// the directory and the mailbox's usage.
base::status check_quota(directory::directory& dir, store::mailbox& mb, std::string_view address,
                         uint64_t incoming);

}  // namespace postern::session::smtp
