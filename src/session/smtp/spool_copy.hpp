// A new spool file made of `prefix` and a byte range of another spool file,
// copied in the kernel (copy_file_range): LMTP's copy for each further
// recipient (its own trace fields), submission's message with its header
// rewritten. Nothing of the message passes through the session's memory.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/error.hpp"
#include "store/store.hpp"

namespace postern::session::smtp {

// prefix, then `from` bytes [begin, end).
base::result<store::spool_file> copy_spool(store::store& mail, const store::spool_file& from,
                                           uint64_t begin, uint64_t end, std::string_view prefix);

}  // namespace postern::session::smtp
