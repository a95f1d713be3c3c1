#include "directory/user_cache.hpp"

namespace postern::directory {

std::optional<user_record> user_cache::find(std::string_view address) {
  std::lock_guard lock(mu_);
  auto it = users_.find(std::string(address));
  if (it == users_.end()) return std::nullopt;
  return it->second;
}

void user_cache::put(const user_record& user) {
  std::lock_guard lock(mu_);
  if (users_.size() >= max_) users_.clear();  // a flood of addresses costs a refill, not memory
  users_[user.address] = user_record{user.id, user.address, {}};
}

void user_cache::invalidate_if_changed(uint64_t directory_version) {
  std::lock_guard lock(mu_);
  if (directory_version == version_) return;
  version_ = directory_version;
  users_.clear();
}

}  // namespace postern::directory
