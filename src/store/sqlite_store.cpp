#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>

#include "base/files.hpp"
#include "store/sqlite_mailbox.hpp"

namespace postern::store {

namespace {

class sqlite_store final : public store {
 public:
  explicit sqlite_store(std::string data_dir)
      : data_dir_(std::move(data_dir)), spool_dir_(data_dir_ + "/spool") {}

  base::result<spool_file> create_spool() override {
    if (!spool_ready_.load()) {
      if (auto s = base::make_directories(spool_dir_); !s) return s.err();
      spool_ready_ = true;
    }
    if (!no_tmpfile_.load()) {
      // O_TMPFILE: no directory entry to create now and remove afterwards.
      int fd = ::open(spool_dir_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
      if (fd >= 0) return spool_file(fd, spool_dir_, true);
      if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
        int err = errno;
        return base::error{
            err == ENOSPC || err == EDQUOT ? base::errc::disk_full : base::errc::io_error,
            fmt::format("cannot create a spool file in {}: {}", spool_dir_, std::strerror(err)),
            std::strerror(err)};
      }
      no_tmpfile_ = true;  // this file system cannot: named files from now on
    }
    for (int attempt = 0;; ++attempt) {
      auto path = fmt::format("{}/{:016x}.{}.tmp", spool_dir_, ++spool_seq_, ::getpid());
      int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd >= 0) return spool_file(fd, std::move(path));
      if (errno == EEXIST && attempt < 100) continue;
      int err = errno;
      return base::error{
          err == ENOSPC || err == EDQUOT ? base::errc::disk_full : base::errc::io_error,
          fmt::format("cannot create spool file {}: {}", path, std::strerror(err)),
          std::strerror(err)};
    }
  }

  void poll_external_changes() override {
    std::vector<std::shared_ptr<sqlite_mailbox>> open;
    {
      std::lock_guard lock(mu_);
      for (auto& [id, weak] : open_)
        if (auto mb = weak.lock()) open.push_back(std::move(mb));
    }
    for (auto& mb : open) mb->poll_external_changes();
  }

  base::result<check_report> rebuild(int64_t user_id) override {
    {
      std::lock_guard lock(mu_);
      std::erase_if(warm_, [&](auto& mb) { return mb->user_id() == user_id; });
      if (auto it = open_.find(user_id); it != open_.end() && !it->second.expired())
        return base::error{base::errc::in_use,
                           "sessions still hold the mailbox; end them first (postern session kill "
                           "--user ADDRESS)",
                           root_of(user_id)};
      open_.erase(user_id);
      if (!rebuilding_.insert(user_id).second)
        return base::error{base::errc::in_use, "the mailbox is already being rebuilt",
                           root_of(user_id)};
    }
    auto report = sqlite_mailbox::rebuild(user_id, root_of(user_id));
    std::lock_guard lock(mu_);
    rebuilding_.erase(user_id);
    return report;
  }

  base::result<std::shared_ptr<mailbox>> open(int64_t user_id) override {
    std::lock_guard lock(mu_);
    if (rebuilding_.count(user_id))
      return base::error{base::errc::temporary,
                         "the mailbox's index is being rebuilt (postern mailbox repair); try again "
                         "in a minute",
                         root_of(user_id)};
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
  std::string spool_dir_;
  std::atomic<bool> spool_ready_{false};
  std::atomic<bool> no_tmpfile_{false};
  std::atomic<uint64_t> spool_seq_{static_cast<uint64_t>(::time(nullptr)) << 20};
  std::mutex mu_;
  std::map<int64_t, std::weak_ptr<sqlite_mailbox>> open_;
  std::set<int64_t> rebuilding_;  // open() refuses these meanwhile
  std::deque<std::shared_ptr<sqlite_mailbox>> warm_;
};

}  // namespace

std::unique_ptr<store> make_sqlite_store(std::string data_dir) {
  return std::make_unique<sqlite_store>(std::move(data_dir));
}

spool_file& spool_file::operator=(spool_file&& o) noexcept {
  if (this != &o) {
    discard();
    fd = o.fd;
    path = std::move(o.path);
    unnamed = o.unnamed;
    o.fd = -1;
    o.path.clear();
  }
  return *this;
}

std::string spool_file::link_source() const {
  return unnamed ? fmt::format("/proc/self/fd/{}", fd) : path;
}

void spool_file::discard() {
  if (fd >= 0) ::close(fd);
  fd = -1;
  if (!path.empty() && !unnamed) ::unlink(path.c_str());
  path.clear();
}

std::string pop3_uidl(uint32_t uidvalidity, uint32_t uid) {
  // Dovecot's default %08Xu%08Xv shape: stable while UIDVALIDITY holds.
  return fmt::format("{:08X}{:08X}", uid, uidvalidity);
}

}  // namespace postern::store
