// `postern deliver ADDRESS < message`: local delivery with sysexits codes, as
// dovecot-lda does, for MTAs that pipe to a command.
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "admin/commands.hpp"
#include "directory/directory.hpp"
#include "store/store.hpp"

namespace postern::admin {

int deliver(const node_config& cfg, const std::string& address, const std::string& sender) {
  auto dir = directory::open_sqlite_directory(cfg.data_dir, false);
  if (!dir) {
    fmt::print(stderr, "postern deliver: {}\n", dir.err().message);
    return ex_tempfail;
  }
  auto user = (*dir)->find_user(address);
  if (!user) {
    fmt::print(stderr, "postern deliver: {}\n", user.err().message);
    return user.err().code == base::errc::not_found ? ex_nouser : ex_tempfail;
  }
  auto settings = (*dir)->settings("lmtp");
  auto limit = directory::make_lmtp_settings(settings ? *settings : directory::setting_map{})
                   .max_message_size;

  std::string message;
  if (!sender.empty()) message += fmt::format("Return-Path: <{}>\r\n", sender);
  message += fmt::format("Delivered-To: {}\r\n", user->address);
  size_t header_len = message.size();
  char buf[65536];
  for (;;) {
    auto n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      fmt::print(stderr, "postern deliver: cannot read the message from standard input: {}\n",
                 std::strerror(errno));
      return ex_tempfail;
    }
    if (n == 0) break;
    message.append(buf, static_cast<size_t>(n));
    if (message.size() - header_len > limit) {
      fmt::print(stderr,
                 "postern deliver: message exceeds the limit of {} bytes (lmtp max_message_size)\n",
                 limit);
      return ex_dataerr;
    }
  }
  auto mail = store::make_sqlite_store(cfg.data_dir);
  auto mb = mail->open(user->id);
  if (!mb) {
    fmt::print(stderr, "postern deliver: {}\n", mb.err().message);
    return ex_tempfail;
  }
  auto uid =
      (*mb)->append("INBOX", store::new_message{message, static_cast<int64_t>(::time(nullptr)), 0});
  if (!uid) {
    fmt::print(stderr, "postern deliver: {}\n", uid.err().message);
    return ex_tempfail;
  }
  return ex_ok;
}

}  // namespace postern::admin
