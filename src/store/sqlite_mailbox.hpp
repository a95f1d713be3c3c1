// SQLite-backed mailbox: one index.sqlite (WAL) and a blobs/ folder per user.
#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <vector>

#include "db/sqlite.hpp"
#include "store/store.hpp"

namespace postern::store {

class sqlite_mailbox final : public mailbox {
 public:
  // Opens or creates the mailbox folder `root`; fails with the file and reason.
  static base::result<std::shared_ptr<sqlite_mailbox>> open(int64_t user_id, std::string root);
  ~sqlite_mailbox() override;

  base::result<uint32_t> append(std::string_view folder, const new_message& msg) override;
  base::result<uint32_t> append_file(std::string_view folder, const spooled_message& msg) override;
  base::result<folder_info> folder(std::string_view name) override;
  base::result<std::vector<message_meta>> list(std::string_view folder) override;
  base::result<size_t> expunge(std::string_view folder, std::span<const uint32_t> uids) override;
  base::result<int> open_blob(uint64_t blob_id, uint32_t uid) override;
  std::optional<int> open_blob_cached(uint64_t blob_id) override;
  notifier& changes() override { return notifier_; }
  int64_t user_id() const override { return user_id_; }
  // Notifies subscribers when another process committed (store::poll_external_changes).
  void poll_external_changes();

 private:
  struct pending_append;

  sqlite_mailbox(int64_t user_id, std::string root, db::database db, int blobs_fd);
  base::status create_schema();
  base::result<uint32_t> commit(pending_append& p);
  void commit_batch(std::vector<pending_append*>& batch);
  base::result<uint32_t> next_uidvalidity();
  base::result<folder_info> find_folder(std::string_view name, bool create_inbox);

  int64_t user_id_;
  std::string root_;
  std::string blobs_dir_;
  int blobs_fd_;
  notifier notifier_;
  uint64_t data_version_ = 0;  // last PRAGMA data_version seen by poll_external_changes

  std::mutex db_mu_;  // guards db_
  db::database db_;

  // Group commit: appenders queue here; one of them commits the whole queue
  // in a single fsync of blobs/ and one transaction.
  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::vector<pending_append*> queue_;
  bool committing_ = false;
};

}  // namespace postern::store
