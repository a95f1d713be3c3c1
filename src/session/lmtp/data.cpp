// DATA (RFC 2033 §4.2): the message is streamed, after the first recipient's
// trace headers, to a spool file once it outgrows the in-memory threshold,
// then committed for each recipient without being held in memory (the first
// recipient's blob is the spool file itself, linked; the others get a
// kernel-side copy with their own Delivered-To). A small message is stored
// from memory. Each recipient's reply is sent only after its copy is
// durable, and only if the recipient still exists when it is committed.
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "net/blocking.hpp"
#include "observe/log.hpp"
#include "session/lmtp/commands.hpp"
#include "session/smtp/data_receiver.hpp"
#include "session/smtp/quota.hpp"
#include "session/smtp/spool_copy.hpp"

namespace postern::session::lmtp {

namespace {

std::string trace_headers(const state& s, const smtp::recipient& r) {
  return fmt::format("Return-Path: <{}>\r\nDelivered-To: {}\r\n", *s.env.sender, r.address);
}

}  // namespace

net::awaitable<void> cmd_data(state& s, std::string_view) {
  s.reply("354 Send the message; end with <CRLF>.<CRLF>");
  bool sent = co_await s.flush();
  if (!sent) {
    s.quit = true;
    co_return;
  }
  // The go-ahead is not the outcome: logs and delivery metrics take the
  // first recipient's reply.
  s.status.clear();
  auto first_prefix = trace_headers(s, s.env.recipients[0]);
  smtp::data_limits limits{s.settings->max_message_size, s.settings->timeout,
                           s.settings->min_data_rate};
  auto msg = co_await smtp::receive_data(s, s.svc.mail, first_prefix, limits);
  using kind = smtp::received_message::kind;
  switch (msg.what) {
    case kind::complete:
      break;
    case kind::lost:
      observe::log(observe::level::info, "lmtp", s.id,
                   "connection from {} ended during DATA after {} bytes; nothing delivered",
                   s.conn->remote_ip(), msg.message_bytes);
      s.quit = true;
      co_return;
    case kind::too_slow:
      observe::log(observe::level::warning, "lmtp", s.id,
                   "DATA from {} too slow: {} bytes, below {} bytes/s after timeout {}s "
                   "(min_data_rate); connection closed, nothing delivered",
                   s.conn->remote_ip(), msg.message_bytes, s.settings->min_data_rate,
                   s.settings->timeout.count());
      s.reply(
          fmt::format("421 4.4.2 {} DATA too slow: {} bytes in the time allowed "
                      "(timeout + size / min_data_rate); nothing was delivered",
                      s.svc.hostname, msg.message_bytes));
      s.quit = true;
      co_return;
    case kind::too_big:
      for (auto& r : s.env.recipients)
        s.reply(
            fmt::format("552 5.3.4 <{}> Message too big: {} bytes exceeds the limit of {} bytes "
                        "(max_message_size)",
                        r.address, msg.message_bytes, s.settings->max_message_size));
      s.reset();
      co_return;
    case kind::failed:
      observe::log(observe::level::error, "lmtp", s.id, "spooling a message failed: {} ({})",
                   msg.error.message, msg.error.detail);
      for (auto& r : s.env.recipients) s.reply(error_reply(s, r.address, msg.error));
      s.reset();
      co_return;
  }

  auto now = static_cast<int64_t>(::time(nullptr));
  auto& mail = s.svc.mail;
  auto& dir = s.svc.dir;
  for (size_t i = 0; i < s.env.recipients.size(); ++i) {
    auto r = s.env.recipients[i];
    std::string prefix = i == 0 ? first_prefix : trace_headers(s, r);
    const store::spool_file& first = msg.spool;
    uint64_t first_size = msg.size;
    uint32_t dot_lines = msg.dot_lines;
    uint64_t first_prefix_size = first_prefix.size();
    const std::string& memory = msg.memory;
    bool spooled = msg.spooled;
    auto store_one = [&mail, &dir, &first, &memory, spooled, r, prefix, i, first_size,
                      first_prefix_size, dot_lines, now]() -> base::result<uint32_t> {
      // The account may have been removed since RCPT: then nobody could read
      // the message, and no mailbox may be created for it.
      // Only a definite answer counts as "removed": a busy or failing
      // directory must never make a delivery delete a mailbox.
      auto gone = [&] {
        auto user = dir.find_user(r.address);
        if (user) return user->id != r.user_id;
        return user.err().code == base::errc::not_found;
      };
      auto removed = base::error{base::errc::not_found,
                                 "no such user here: the account was removed during delivery", ""};
      if (gone()) return removed;
      auto mb = mail.open(r.user_id);
      if (!mb) return mb.err();
      // A full mailbox refuses the message for this recipient (552 5.2.2).
      if (auto q = smtp::check_quota(dir, **mb, r.address, spooled ? first_size : memory.size());
          !q)
        return q.err();
      auto store = [&]() -> base::result<uint32_t> {
        if (!spooled) {
          // A small message: already canonical in memory, stored as it is.
          if (i == 0) return (*mb)->append("INBOX", store::new_message{memory, now, 0});
          std::string copy = prefix;
          copy.append(memory, first_prefix_size);
          return (*mb)->append("INBOX", store::new_message{copy, now, 0});
        }
        if (i == 0)
          return (*mb)->append_file(
              "INBOX", store::spooled_message{&first, first_size, dot_lines, now, 0, {}});
        auto copy = smtp::copy_spool(mail, first, first_prefix_size, first_size, prefix);
        if (!copy) return copy.err();
        uint64_t size = prefix.size() + (first_size - first_prefix_size);
        return (*mb)->append_file("INBOX",
                                  store::spooled_message{&*copy, size, dot_lines, now, 0, {}});
      };
      auto uid = store();
      // Removed while this commit ran: `user remove` may have deleted the
      // folder before the commit re-created it. Delete it again rather than
      // leave a mailbox nobody owns, and do not acknowledge.
      if (uid && gone()) {
        mb->reset();
        (void)mail.destroy(r.user_id);
        return removed;
      }
      return uid;
    };
    auto uid = co_await net::run_blocking(std::move(store_one));
    if (uid) {
      s.reply(fmt::format("250 2.0.0 <{}> Saved as UID {}", r.address, *uid));
    } else {
      observe::log(observe::level::error, "lmtp", s.id, "delivery to {} failed: {} ({})", r.address,
                   uid.err().message, uid.err().detail);
      s.reply(error_reply(s, r.address, uid.err()));
    }
  }
  observe::log(observe::level::info, "lmtp", s.id,
               "message from <{}> of {} bytes to {} recipient(s)",
               base::printable(*s.env.sender, 200), msg.message_bytes, s.env.recipients.size());
  s.reset();
}

}  // namespace postern::session::lmtp
