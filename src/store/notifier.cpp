#include "store/notifier.hpp"

#include <vector>

namespace postern::store {

uint64_t notifier::version() const {
  std::lock_guard lock(mu_);
  return version_;
}

uint64_t notifier::subscribe(callback cb) {
  std::lock_guard lock(mu_);
  auto id = next_id_++;
  subscribers_.emplace(id, std::move(cb));
  return id;
}

void notifier::unsubscribe(uint64_t id) {
  std::lock_guard lock(mu_);
  subscribers_.erase(id);
}

bool notifier::has_subscribers() const {
  std::lock_guard lock(mu_);
  return !subscribers_.empty();
}

void notifier::notify() {
  std::vector<callback> to_call;
  uint64_t v;
  {
    std::lock_guard lock(mu_);
    v = ++version_;
    to_call.reserve(subscribers_.size());
    for (auto& [id, cb] : subscribers_) to_call.push_back(cb);
  }
  for (auto& cb : to_call) cb(v);
}

}  // namespace postern::store
