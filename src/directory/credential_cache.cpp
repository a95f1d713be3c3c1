#include "directory/credential_cache.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>

#include "base/strings.hpp"

namespace postern::directory {

credential_cache::credential_cache(clock::duration ttl, size_t max_entries)
    : ttl_(ttl), max_entries_(max_entries) {
  if (RAND_bytes(key_.data(), static_cast<int>(key_.size())) != 1)
    throw std::runtime_error("OpenSSL could not provide random bytes for the credential cache");
}

credential_cache::digest credential_cache::mac_of(std::string_view password) const {
  digest d{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(password.data()), password.size(), d.data(), &len);
  return d;
}

bool credential_cache::matches(std::string_view address, std::string_view stored_hash,
                               std::string_view password, clock::time_point now) {
  auto mac = mac_of(password);
  std::lock_guard lock(mu_);
  auto it = entries_.find(base::to_lower(address));
  if (it == entries_.end()) return false;
  if (it->second.expires <= now || it->second.stored_hash != stored_hash) {
    entries_.erase(it);
    return false;
  }
  return CRYPTO_memcmp(it->second.mac.data(), mac.data(), mac.size()) == 0;
}

void credential_cache::remember(std::string_view address, std::string_view stored_hash,
                                std::string_view password, clock::time_point now) {
  auto mac = mac_of(password);
  std::lock_guard lock(mu_);
  if (entries_.size() >= max_entries_) {
    // Drop what has expired; if that frees nothing, start afresh: the cache
    // only saves work, it never decides a login.
    std::erase_if(entries_, [&](auto& e) { return e.second.expires <= now; });
    if (entries_.size() >= max_entries_) entries_.clear();
  }
  entries_[base::to_lower(address)] = entry{std::string(stored_hash), mac, now + ttl_};
}

}  // namespace postern::directory
