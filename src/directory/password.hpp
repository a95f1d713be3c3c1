// Password hashes in Dovecot passwd-file form: "{SCHEME}hash". New hashes are
// yescrypt ({CRYPT}$y$...); {SHA512-CRYPT} and {CRYPT} of any crypt(3)
// method libxcrypt supports are verified too.
//
// Both functions are CPU-heavy by design (tens of milliseconds): call them from
// the blocking pool, never from an I/O thread.
#pragma once

#include <string>
#include <string_view>

#include "base/error.hpp"

namespace postern::directory {

base::result<std::string> hash_password(std::string_view password);
bool verify_password(std::string_view password, std::string_view stored);

}  // namespace postern::directory
