#include "directory/live_settings.hpp"

namespace postern::directory {

void live_settings::refresh_locked() {
  auto v = dir_.version();
  if (v == version_ && pop3_) return;
  // A read failure keeps the last good snapshot (or defaults) rather than
  // refusing connections because of a busy directory.
  auto p = dir_.settings("pop3");
  auto l = dir_.settings("lmtp");
  auto i = dir_.settings("imap");
  auto m = dir_.settings("submission");
  if (p || !pop3_)
    pop3_ = std::make_shared<const pop3_settings>(make_pop3_settings(p ? *p : setting_map{}));
  if (l || !lmtp_)
    lmtp_ = std::make_shared<const lmtp_settings>(make_lmtp_settings(l ? *l : setting_map{}));
  if (i || !imap_)
    imap_ = std::make_shared<const imap_settings>(make_imap_settings(i ? *i : setting_map{}));
  if (m || !submission_)
    submission_ = std::make_shared<const submission_settings>(
        make_submission_settings(m ? *m : setting_map{}));
  if (p && l && i && m) version_ = v;
}

std::shared_ptr<const pop3_settings> live_settings::pop3() {
  std::lock_guard lock(mu_);
  refresh_locked();
  return pop3_;
}

std::shared_ptr<const imap_settings> live_settings::imap() {
  std::lock_guard lock(mu_);
  refresh_locked();
  return imap_;
}

std::shared_ptr<const lmtp_settings> live_settings::lmtp() {
  std::lock_guard lock(mu_);
  refresh_locked();
  return lmtp_;
}

}  // namespace postern::directory

namespace postern::directory {

std::shared_ptr<const submission_settings> live_settings::submission() {
  std::lock_guard lock(mu_);
  refresh_locked();
  return submission_;
}

}  // namespace postern::directory
