#include "policy/connection_registry.hpp"

#include <fmt/format.h>

#include "base/strings.hpp"

namespace postern::policy {

namespace {
std::string key_of(std::string_view protocol, std::string_view kind, std::string_view who) {
  return fmt::format("{}\x1f{}\x1f{}", protocol, kind, who);
}
}  // namespace

lease& lease::operator=(lease&& o) noexcept {
  if (this != &o) {
    release();
    registry_ = o.registry_;
    key_ = std::move(o.key_);
    o.registry_ = nullptr;
  }
  return *this;
}

void lease::release() {
  if (registry_) registry_->release(key_);
  registry_ = nullptr;
}

uint32_t connection_registry::count_locked(const std::string& key) const {
  auto it = counts_.find(key);
  return it == counts_.end() ? 0 : it->second;
}

void connection_registry::release(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = counts_.find(key);
  if (it == counts_.end()) return;
  if (--it->second == 0) counts_.erase(it);
}

base::result<connection_leases> connection_registry::admit(std::string_view protocol,
                                                           std::string_view ip, uint32_t max_total,
                                                           uint32_t max_per_ip) {
  auto total_key = key_of(protocol, "total", "");
  auto ip_key = key_of(protocol, "ip", ip);
  std::lock_guard lock(mu_);
  auto total = count_locked(total_key);
  if (total >= max_total) {
    ++refusals_[{std::string(protocol), "max_connections"}];
    return base::error{
        base::errc::limit_exceeded,
        fmt::format("this server already has {} of {} {} connections (max_connections)", total,
                    max_total, base::to_upper(protocol)),
        ""};
  }
  auto per_ip = count_locked(ip_key);
  if (per_ip >= max_per_ip) {
    ++refusals_[{std::string(protocol), "max_connections_from_single_ip"}];
    return base::error{
        base::errc::limit_exceeded,
        fmt::format("{} already has {} of {} {} connections (max_connections_from_single_ip)", ip,
                    per_ip, max_per_ip, base::to_upper(protocol)),
        ""};
  }
  ++counts_[total_key];
  ++counts_[ip_key];
  return connection_leases{lease(this, total_key), lease(this, ip_key)};
}

base::result<lease> connection_registry::admit_user(std::string_view protocol,
                                                    std::string_view user, uint32_t max_per_user) {
  auto key = key_of(protocol, "user", base::to_lower(user));
  std::lock_guard lock(mu_);
  auto n = count_locked(key);
  if (n >= max_per_user) {
    ++refusals_[{std::string(protocol), "max_connections_per_user"}];
    return base::error{base::errc::limit_exceeded,
                       fmt::format("{} already has {} of {} connections (max_connections_per_user)",
                                   user, n, max_per_user),
                       ""};
  }
  ++counts_[key];
  return lease(this, key);
}

std::map<std::pair<std::string, std::string>, uint64_t> connection_registry::refusals() {
  std::lock_guard lock(mu_);
  return refusals_;
}

uint32_t connection_registry::connections(std::string_view protocol) {
  std::lock_guard lock(mu_);
  return count_locked(key_of(protocol, "total", ""));
}

uint32_t connection_registry::user_connections(std::string_view protocol, std::string_view user) {
  std::lock_guard lock(mu_);
  return count_locked(key_of(protocol, "user", base::to_lower(user)));
}

}  // namespace postern::policy
