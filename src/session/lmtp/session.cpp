#include "session/lmtp/session.hpp"

#include <fmt/format.h>

#include <ctime>

#include "base/strings.hpp"
#include "net/blocking.hpp"
#include "observe/log.hpp"
#include "proto/smtp/command.hpp"
#include "proto/smtp/dot_decoder.hpp"

namespace postern::session::lmtp {

namespace {

constexpr size_t max_line = 2048;  // generous next to RFC 5321's 512 for command lines
constexpr int max_bad_commands = 20;

struct recipient {
  std::string address;
  int64_t user_id;
};

struct state {
  services& svc;
  std::shared_ptr<net::connection> conn;
  const net::listener_spec& listener;
  std::shared_ptr<const directory::lmtp_settings> settings;
  std::string id;
  bool greeted = false;
  bool quit = false;
  std::optional<std::string> sender{};  // set by MAIL FROM
  std::vector<recipient> recipients{};
  std::string out{};

  void reply(std::string_view text) {
    out += text;
    out += "\r\n";
  }
  void reset() {
    sender.reset();
    recipients.clear();
  }
};

using handler = net::awaitable<void> (*)(state&, std::string_view);

net::awaitable<void> cmd_lhlo(state& s, std::string_view args) {
  if (base::trim(args).empty()) {
    s.reply("501 5.5.4 LHLO needs your host name");
    co_return;
  }
  s.greeted = true;
  s.reset();
  s.reply(fmt::format("250-{}", s.svc.hostname));
  s.reply("250-PIPELINING");
  s.reply("250-ENHANCEDSTATUSCODES");
  s.reply("250-8BITMIME");
  if (s.conn->tls_available() && !s.conn->tls_active()) s.reply("250-STARTTLS");
  s.reply(fmt::format("250 SIZE {}", s.settings->max_message_size));
}

net::awaitable<void> cmd_helo(state& s, std::string_view) {
  s.reply("500 5.5.1 This is an LMTP server: greet with LHLO (RFC 2033)");
  co_return;
}

net::awaitable<void> cmd_mail(state& s, std::string_view args) {
  if (!s.greeted) {
    s.reply("503 5.5.1 Send LHLO first");
    co_return;
  }
  if (s.sender) {
    s.reply("503 5.5.1 A transaction is already open: send RSET first");
    co_return;
  }
  std::string why;
  auto path = proto::smtp::parse_path(args, "FROM:", why);
  if (!path) {
    s.reply(fmt::format("501 5.5.4 Bad MAIL FROM: {}", why));
    co_return;
  }
  for (auto& [key, value] : path->params) {
    if (key == "SIZE") {
      auto n = base::parse_u64(value);
      if (!n) {
        s.reply("501 5.5.4 SIZE needs a number of bytes");
        co_return;
      }
      if (*n > s.settings->max_message_size) {
        s.reply(
            fmt::format("552 5.3.4 Message size {} exceeds the limit of {} bytes "
                        "(max_message_size)",
                        *n, s.settings->max_message_size));
        co_return;
      }
    } else if (key == "BODY") {
      auto v = base::to_upper(value);
      if (v != "7BIT" && v != "8BITMIME") {
        s.reply("501 5.5.4 BODY must be 7BIT or 8BITMIME");
        co_return;
      }
    } else {
      s.reply(
          fmt::format("555 5.5.4 Unsupported MAIL FROM parameter {}", base::printable(key, 30)));
      co_return;
    }
  }
  s.sender = path->address;
  s.reply("250 2.1.0 Sender OK");
}

net::awaitable<void> cmd_rcpt(state& s, std::string_view args) {
  if (!s.sender) {
    s.reply("503 5.5.1 Send MAIL FROM first");
    co_return;
  }
  std::string why;
  auto path = proto::smtp::parse_path(args, "TO:", why);
  if (!path) {
    s.reply(fmt::format("501 5.5.4 Bad RCPT TO: {}", why));
    co_return;
  }
  if (s.recipients.size() >= s.settings->max_recipients) {
    s.reply(fmt::format("452 4.5.3 Too many recipients: at most {} per message (max_recipients)",
                        s.settings->max_recipients));
    co_return;
  }
  auto& dir = s.svc.dir;
  auto address = base::normalize_address(path->address);
  // An indexed read of a few microseconds: cheaper here than two thread hops.
  auto user = dir.find_user(address);
  if (!user) {
    if (user.err().code == base::errc::not_found) {
      s.reply(fmt::format("550 5.1.1 <{}>: no such user here", base::printable(address, 100)));
    } else {
      observe::log(observe::level::error, "lmtp", s.id, "directory lookup failed: {}",
                   user.err().message);
      s.reply(fmt::format("451 4.3.0 <{}>: directory unavailable, try again later (session {})",
                          address, s.id));
    }
    co_return;
  }
  s.recipients.push_back(recipient{user->address, user->id});
  s.reply(fmt::format("250 2.1.5 <{}> OK", user->address));
}

std::string trace_headers(const state& s, const recipient& r) {
  return fmt::format("Return-Path: <{}>\r\nDelivered-To: {}\r\n", *s.sender, r.address);
}

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
  observe::log(observe::level::info, "lmtp", s.id, "message from <{}> of {} bytes to {} recipient(s)",
               *s.sender, decoder.total(), s.recipients.size());
  s.reset();
}

net::awaitable<void> cmd_rset(state& s, std::string_view) {
  s.reset();
  s.reply("250 2.0.0 OK");
  co_return;
}

net::awaitable<void> cmd_noop(state& s, std::string_view) {
  s.reply("250 2.0.0 OK");
  co_return;
}

net::awaitable<void> cmd_vrfy(state& s, std::string_view) {
  s.reply("252 2.5.2 Cannot verify users; send RCPT TO to test a recipient");
  co_return;
}

net::awaitable<void> cmd_starttls(state& s, std::string_view) {
  if (!s.conn->tls_available() || s.conn->tls_active()) {
    s.reply("454 4.7.0 TLS not available on this listener");
    co_return;
  }
  s.reply("220 2.0.0 Ready to start TLS");
  auto ok = co_await s.conn->write(s.out);
  s.out.clear();
  if (ok) ok = co_await s.conn->start_tls();
  if (!ok) {
    s.quit = true;
    co_return;
  }
  s.greeted = false;  // RFC 3207 §4.2: the client must greet again
  s.reset();
}

net::awaitable<void> cmd_quit(state& s, std::string_view) {
  s.reply(fmt::format("221 2.0.0 {} closing connection", s.svc.hostname));
  s.quit = true;
  co_return;
}

struct command_spec {
  std::string_view verb;
  handler run;
};

constexpr command_spec table[] = {
    {"LHLO", cmd_lhlo}, {"HELO", cmd_helo}, {"EHLO", cmd_helo},         {"MAIL", cmd_mail},
    {"RCPT", cmd_rcpt}, {"DATA", cmd_data}, {"RSET", cmd_rset},         {"NOOP", cmd_noop},
    {"VRFY", cmd_vrfy}, {"QUIT", cmd_quit}, {"STARTTLS", cmd_starttls},
};

}  // namespace

net::awaitable<void> run_session(services& svc, std::shared_ptr<net::connection> conn,
                                 const net::listener_spec& listener) {
  state s{svc, conn, listener, svc.settings.lmtp(), observe::new_session_id()};
  conn->set_timeout(s.settings->timeout);
  auto admitted = svc.registry.admit("lmtp", conn->remote_ip(), s.settings->max_connections,
                                     s.settings->max_connections);
  if (!admitted) {
    observe::log(observe::level::warning, "lmtp", s.id, "connection refused: {}",
                 admitted.err().message);
    auto refusal = fmt::format("421 4.3.2 {} {}\r\n", svc.hostname, admitted.err().message);
    co_await conn->write(refusal);
    co_return;
  }
  s.reply(fmt::format("220 {} Postern LMTP ready", svc.hostname));
  int bad = 0;
  std::string line;
  while (!s.quit) {
    if (!conn->has_buffered_line() && !s.out.empty()) {
      bool sent = co_await conn->write(s.out);
      if (!sent) break;
      s.out.clear();
    }
    auto st = co_await conn->read_line(line, max_line);
    if (st == net::read_status::too_long) {
      s.reply(fmt::format("500 5.5.2 Line too long: the limit is {} bytes", max_line));
      if (++bad >= max_bad_commands) break;
      continue;
    }
    if (st != net::read_status::ok) break;
    auto cmd = proto::smtp::parse_command(line);
    const command_spec* spec = nullptr;
    if (cmd)
      for (auto& c : table)
        if (c.verb == cmd->verb) spec = &c;
    if (!spec) {
      s.reply(fmt::format("500 5.5.2 Unknown command \"{}\"", base::printable(line, 20)));
      if (++bad >= max_bad_commands) break;
      continue;
    }
    bad = 0;
    std::string failure;
    try {
      co_await spec->run(s, cmd->args);
    } catch (const std::exception& e) {
      failure = e.what();
    }
    if (!failure.empty()) {
      observe::log(observe::level::error, "lmtp", s.id, "{} failed: {}", spec->verb, failure);
      s.reply(fmt::format("421 4.3.0 Internal error in {}: {}; the server log has the details "
                          "under session {}",
                          spec->verb, failure, s.id));
      break;
    }
  }
  if (bad >= max_bad_commands) s.reply("421 4.7.0 Too many bad commands; closing the connection");
  if (!s.out.empty()) {
    co_await conn->write(s.out);
  }
}

}  // namespace postern::session::lmtp
