#include "directory/authenticate.hpp"

#include "directory/password.hpp"

namespace postern::directory {

namespace {
// A hash of the same kind and cost as a real user's, so that a wrong password
// for an unknown address costs exactly what it costs for a known one and the
// answer time does not tell which addresses exist.
const std::string& dummy_hash() {
  static const std::string hash = [] {
    auto h = hash_password("postern-dummy-password-for-unknown-users");
    return h ? *h : std::string();
  }();
  return hash;
}
}  // namespace

void warm_up_authentication() { (void)dummy_hash(); }

base::result<user_record> authenticate(directory& dir, credential_cache& cache,
                                       std::string_view address, std::string_view password) {
  auto u = dir.find_user(address);
  if (!u) {
    if (u.err().code == base::errc::not_found) (void)verify_password(password, dummy_hash());
    return u;
  }
  if (cache.matches(u->address, u->password_hash, password)) return u;
  if (!verify_password(password, u->password_hash))
    return base::error{base::errc::invalid_argument, "wrong password", ""};
  cache.remember(u->address, u->password_hash, password);
  return u;
}

}  // namespace postern::directory
