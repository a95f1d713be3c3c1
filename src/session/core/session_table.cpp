#include "session/core/session_table.hpp"

namespace postern::session::core {

std::shared_ptr<session_table::entry> session_table::add(session_info info, kill_function kill) {
  auto e = std::make_shared<entry>(std::move(info));
  e->kill_ = std::move(kill);
  std::lock_guard lock(mu_);
  entries_[e->info_.id] = e;
  return e;
}

void session_table::remove(const std::string& id) {
  std::lock_guard lock(mu_);
  entries_.erase(id);
}

std::vector<session_info> session_table::list() {
  std::vector<std::shared_ptr<entry>> all;
  {
    std::lock_guard lock(mu_);
    all.reserve(entries_.size());
    for (auto& [id, e] : entries_) all.push_back(e);
  }
  std::vector<session_info> out;
  out.reserve(all.size());
  for (auto& e : all) out.push_back(e->snapshot());
  return out;
}

std::optional<session_info> session_table::find(const std::string& id) {
  std::shared_ptr<entry> e;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return std::nullopt;
    e = it->second;
  }
  return e->snapshot();
}

size_t session_table::kill(const std::function<bool(const session_info&)>& which,
                           const std::string& reason) {
  std::vector<std::shared_ptr<entry>> all, chosen;
  {
    std::lock_guard lock(mu_);
    for (auto& [sid, e] : entries_) all.push_back(e);
  }
  for (auto& e : all) {
    bool pick = false;
    e->update([&](session_info& i) {
      pick = !i.ending && which(i);
      if (pick) i.ending = true;
    });
    if (pick) chosen.push_back(e);
  }
  for (auto& e : chosen) e->kill_(e, reason);
  return chosen.size();
}

size_t session_table::size() {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace postern::session::core
