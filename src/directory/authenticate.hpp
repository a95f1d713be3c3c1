// Password login for every protocol: look the user up, check the password
// (against the credential cache first, then crypt(3)), remember a success.
//
// Blocking (SQLite and, on a cache miss, a memory-hard hash): call it from the
// blocking pool. Errors: not_found for an unknown user, invalid_argument for a
// wrong password (callers answer both alike), others from the directory.
#pragma once

#include <string_view>

#include "base/error.hpp"
#include "directory/credential_cache.hpp"
#include "directory/directory.hpp"

namespace postern::directory {

// An unknown address is checked against a dummy hash of the same cost
// (no timing oracle for which addresses exist).
base::result<user_record> authenticate(directory& dir, credential_cache& cache,
                                       std::string_view address, std::string_view password);

// Computes the dummy hash now (once per process), so the first unknown-user
// login does not pay for it and stand out.
void warm_up_authentication();

}  // namespace postern::directory
