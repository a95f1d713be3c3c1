// DATA (RFC 2033 §4.2): the message is dot-decoded into a buffer that already
// starts with the first recipient's trace headers, then stored once per
// recipient; each recipient's reply is sent only after its copy is durable.
#include <fmt/format.h>

#include <ctime>

#include "net/blocking.hpp"
#include "observe/log.hpp"
#include "proto/smtp/dot_decoder.hpp"
#include "session/lmtp/commands.hpp"

namespace postern::session::lmtp {

namespace {
std::string trace_headers(const state& s, const recipient& r) {
  return fmt::format("Return-Path: <{}>\r\nDelivered-To: {}\r\n", *s.sender, r.address);
}

}  // namespace

net::awaitable<void> cmd_data(state& s, std::string_view) {
  if (!s.sender) {
    s.reply("503 5.5.1 Send MAIL FROM first");
    co_return;
  }
  if (s.recipients.empty()) {
    s.reply("503 5.5.1 No valid recipients: send RCPT TO first");
    co_return;
  }
  s.reply("354 Send the message; end with <CRLF>.<CRLF>");
  auto ok = co_await s.conn->write(s.out);
  s.out.clear();
  if (!ok) {
    s.quit = true;
    co_return;
  }
  // The first recipient's trace headers lead the buffer so the common
  // single-recipient case stores the buffer as it is.
  std::string message = trace_headers(s, s.recipients[0]);
  size_t body_start = message.size();
  proto::smtp::dot_decoder decoder(s.settings->max_message_size);
  while (!decoder.done()) {
    std::string_view chunk;
    auto st = co_await s.conn->read_some(chunk);
    if (st != net::read_status::ok) {
      observe::log(observe::level::info, "lmtp", s.id,
                   "connection ended during DATA after {} bytes; nothing delivered",
                   decoder.total());
      s.quit = true;
      co_return;
    }
    auto used = decoder.feed(chunk, message);
    if (used < chunk.size()) s.conn->unread(chunk.size() - used);
  }
  if (decoder.over_limit()) {
    for (auto& r : s.recipients)
      s.reply(
          fmt::format("552 5.3.4 <{}> Message too big: {} bytes exceeds the limit of {} bytes "
                      "(max_message_size)",
                      r.address, decoder.total(), s.settings->max_message_size));
    s.reset();
    co_return;
  }
  auto now = static_cast<int64_t>(::time(nullptr));
  for (size_t i = 0; i < s.recipients.size(); ++i) {
    auto& r = s.recipients[i];
    std::string copy;
    if (i > 0) {
      copy = trace_headers(s, r);
      copy.append(message, body_start);
    }
    std::string_view bytes = i == 0 ? std::string_view(message) : std::string_view(copy);
    auto& mail = s.svc.mail;
    auto store_one = [&mail, &r, bytes, now]() -> base::result<uint32_t> {
      auto mb = mail.open(r.user_id);
      if (!mb) return mb.err();
      return (*mb)->append("INBOX", store::new_message{bytes, now, 0});
    };
    auto uid = co_await net::run_blocking(std::move(store_one));
    if (uid) {
      s.reply(fmt::format("250 2.0.0 <{}> Saved as UID {}", r.address, *uid));
    } else {
      observe::log(observe::level::error, "lmtp", s.id, "delivery to {} failed: {} ({})", r.address,
                   uid.err().message, uid.err().detail);
      s.reply(fmt::format("451 4.3.0 <{}> Temporary failure: {} (session {})", r.address,
                          uid.err().message, s.id));
    }
  }
  observe::log(observe::level::info, "lmtp", s.id,
               "message from <{}> of {} bytes to {} recipient(s)", *s.sender, decoder.total(),
               s.recipients.size());
  s.reset();
}

}  // namespace postern::session::lmtp
