// The settings a new connection gets: reloaded from the directory whenever it
// changed (another process ran `postern pop3 set`), so no restart is needed.
//
// Threads: thread-safe; the returned snapshot is immutable.
#pragma once

#include <memory>
#include <mutex>

#include "directory/directory.hpp"

namespace postern::directory {

class live_settings {
 public:
  explicit live_settings(directory& dir) : dir_(dir) {}

  std::shared_ptr<const pop3_settings> pop3();
  std::shared_ptr<const lmtp_settings> lmtp();
  std::shared_ptr<const imap_settings> imap();
  std::shared_ptr<const submission_settings> submission();

 private:
  void refresh_locked();

  directory& dir_;
  std::mutex mu_;
  uint64_t version_ = ~uint64_t{0};
  std::shared_ptr<const pop3_settings> pop3_;
  std::shared_ptr<const lmtp_settings> lmtp_;
  std::shared_ptr<const imap_settings> imap_;
  std::shared_ptr<const submission_settings> submission_;
};

}  // namespace postern::directory
