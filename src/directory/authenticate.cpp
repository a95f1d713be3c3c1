#include "directory/authenticate.hpp"

#include "directory/password.hpp"

namespace postern::directory {

base::result<user_record> authenticate(directory& dir, credential_cache& cache,
                                       std::string_view address, std::string_view password) {
  auto u = dir.find_user(address);
  if (!u) return u;
  if (cache.matches(u->address, u->password_hash, password)) return u;
  if (!verify_password(password, u->password_hash))
    return base::error{base::errc::invalid_argument, "wrong password", ""};
  cache.remember(u->address, u->password_hash, password);
  return u;
}

}  // namespace postern::directory
