#include <fmt/format.h>

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
      if (auto mb = it->second.lock()) return std::shared_ptr<mailbox>(mb);
    }
    auto mb = sqlite_mailbox::open(user_id, root_of(user_id));
    if (!mb) return mb.err();
    open_[user_id] = *mb;
    return std::shared_ptr<mailbox>(*mb);
  }

  base::status destroy(int64_t user_id) override {
    std::lock_guard lock(mu_);
    open_.erase(user_id);
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

  std::string data_dir_;
  std::mutex mu_;
  std::map<int64_t, std::weak_ptr<sqlite_mailbox>> open_;
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
