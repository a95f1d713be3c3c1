#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>

#include "store/sqlite_mailbox.hpp"

namespace postern::store {

namespace {

class sqlite_store final : public store {
 public:
  explicit sqlite_store(std::string data_dir) : data_dir_(std::move(data_dir)) {}

  base::result<std::shared_ptr<mailbox>> open(int64_t user_id) override {
    std::lock_guard lock(mu_);
    if (auto it = open_.find(user_id); it != open_.end()) {
      if (auto mb = it->second.lock()) {
        keep_warm(mb);
        return std::shared_ptr<mailbox>(mb);
      }
    }
    auto mb = sqlite_mailbox::open(user_id, root_of(user_id));
    if (!mb) return mb.err();
    open_[user_id] = *mb;
    keep_warm(*mb);
    return std::shared_ptr<mailbox>(*mb);
  }

  base::status destroy(int64_t user_id) override {
    std::lock_guard lock(mu_);
    open_.erase(user_id);
    std::erase_if(warm_, [&](auto& mb) { return mb->user_id() == user_id; });
    std::error_code ec;
    std::filesystem::remove_all(root_of(user_id), ec);
    if (ec)
      return base::error{base::errc::io_error,
                         fmt::format("cannot remove {}: {}", root_of(user_id), ec.message()), ""};
    return base::ok_status();
  }

 private:
  std::string root_of(int64_t user_id) const {
    return fmt::format("{}/mail/{}", data_dir_, user_id);
  }

  // Opening a mailbox costs folder checks, a WAL set-up and the schema; closing
  // the last connection checkpoints the WAL. Recently used mailboxes therefore
  // stay open (most recent last), so a stream of deliveries pays neither.
  void keep_warm(const std::shared_ptr<sqlite_mailbox>& mb) {
    auto it = std::find(warm_.begin(), warm_.end(), mb);
    if (it != warm_.end()) {
      if (it + 1 == warm_.end()) return;
      warm_.erase(it);
    }
    warm_.push_back(mb);
    if (warm_.size() > max_warm) {
      auto victim = std::move(warm_.front());
      warm_.pop_front();
      auto id = victim->user_id();
      victim.reset();  // closes it unless a session still holds it
      if (auto it = open_.find(id); it != open_.end() && it->second.expired()) open_.erase(it);
    }
  }

  static constexpr size_t max_warm = 64;
  std::string data_dir_;
  std::mutex mu_;
  std::map<int64_t, std::weak_ptr<sqlite_mailbox>> open_;
  std::deque<std::shared_ptr<sqlite_mailbox>> warm_;
};

}  // namespace

std::unique_ptr<store> make_sqlite_store(std::string data_dir) {
  return std::make_unique<sqlite_store>(std::move(data_dir));
}

std::string pop3_uidl(uint32_t uidvalidity, uint32_t uid) {
  // Dovecot's default %08Xu%08Xv shape: stable while UIDVALIDITY holds.
  return fmt::format("{:08X}{:08X}", uid, uidvalidity);
}

}  // namespace postern::store
