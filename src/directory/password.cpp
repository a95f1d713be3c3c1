#include "directory/password.hpp"

#include <crypt.h>
#include <openssl/crypto.h>

#include <cstring>
#include <memory>

namespace postern::directory {

base::result<std::string> hash_password(std::string_view password) {
  if (password.find('\0') != std::string_view::npos)
    return base::error{base::errc::invalid_argument, "a password cannot contain a NUL byte", ""};
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (!crypt_gensalt_rn("$y$", 0, nullptr, 0, salt, sizeof salt))
    return base::error{base::errc::io_error, "cannot make a yescrypt salt", std::strerror(errno)};
  auto data = std::make_unique<crypt_data>();
  std::string pw(password);
  const char* h = crypt_rn(pw.c_str(), salt, data.get(), sizeof(crypt_data));
  OPENSSL_cleanse(pw.data(), pw.size());
  if (!h || h[0] == '*')
    return base::error{base::errc::io_error, "crypt(3) refused to hash the password", ""};
  return std::string("{CRYPT}") + h;
}

bool verify_password(std::string_view password, std::string_view stored) {
  std::string_view hash = stored;
  if (hash.starts_with("{CRYPT}"))
    hash.remove_prefix(7);
  else if (hash.starts_with("{SHA512-CRYPT}"))
    hash.remove_prefix(14);
  else if (hash.starts_with("{SHA256-CRYPT}"))
    hash.remove_prefix(14);
  else
    return false;  // unknown scheme: never compare plaintext
  if (hash.empty() || password.find('\0') != std::string_view::npos) return false;
  auto data = std::make_unique<crypt_data>();
  std::string pw(password), h(hash);
  const char* out = crypt_rn(pw.c_str(), h.c_str(), data.get(), sizeof(crypt_data));
  OPENSSL_cleanse(pw.data(), pw.size());
  if (!out || out[0] == '*') return false;
  return std::strlen(out) == h.size() && CRYPTO_memcmp(out, h.data(), h.size()) == 0;
}

}  // namespace postern::directory
