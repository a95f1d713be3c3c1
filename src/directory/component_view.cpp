#include "directory/component_view.hpp"

namespace postern::directory {

void component_view::refresh(bool force) {
  auto v = dir_.version();
  {
    std::lock_guard lock(mu_);
    if (!force && v == version_) return;
  }
  auto fresh = dir_.component_states();
  if (!fresh) return;
  std::lock_guard lock(mu_);
  records_ = std::move(*fresh);
  version_ = v;
}

effective_state component_view::state(std::string_view component) {
  std::lock_guard lock(mu_);
  return state_of(records_, component);
}

std::vector<component_record> component_view::records() {
  std::lock_guard lock(mu_);
  return records_;
}

}  // namespace postern::directory
