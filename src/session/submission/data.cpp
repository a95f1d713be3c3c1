// DATA for submission (RFC 6409): the message streams to the spool as for
// LMTP, behind a Received field naming the authenticated user and the TLS in
// use; then its header is checked (every From address must be one the user
// may send as) and rewritten (Bcc removed, Date, Message-ID and, on behalf
// of someone, Sender added, RFC 6409 §8) and it is stored for each local
// recipient, and in the sender's Sent folder with save_sent. 250 only once
// every copy is durable; a recipient whose copy failed after others were
// stored is reported to the sender in a bounce in their INBOX.
#include <fmt/format.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <ctime>

#include "base/strings.hpp"
#include "net/blocking.hpp"
#include "observe/log.hpp"
#include "queue/dsn.hpp"
#include "queue/queue_store.hpp"
#include "queue/relay_worker.hpp"
#include "session/core/error_words.hpp"
#include "session/smtp/data_receiver.hpp"
#include "session/smtp/quota.hpp"
#include "session/smtp/reply_codes.hpp"
#include "session/smtp/spool_copy.hpp"
#include "session/submission/commands.hpp"
#include "session/submission/message_header.hpp"
#include "session/submission/send_as.hpp"
#include "store/canonical.hpp"

namespace postern::session::submission {

namespace {

// The longest header submission reads to check and rewrite.
constexpr size_t max_header = 256 * 1024;

std::string rfc5322_date(std::time_t t) {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

// RFC 5321 §4.4 with RFC 3848's ESMTPSA / ESMTPA, the user (the issue's
// "Received line with the authenticated user") and the TLS in use.
std::string received_field(const state& s) {
  auto tls = s.conn->tls_description();
  return fmt::format(
      "Received: from {} ([{}])\r\n\tby {} (Postern) with {}{} id {}\r\n\t(authenticated as "
      "{}{});\r\n\t{}\r\n",
      s.client_name.empty() ? "unknown" : s.client_name, s.conn->remote_ip(), s.svc.hostname,
      s.esmtp ? "ESMTP" : "SMTP", tls.empty() ? "A" : "SA", s.id, s.user,
      tls.empty() ? "" : ", " + tls, rfc5322_date(::time(nullptr)));
}

std::string new_message_id(const state& s) {
  unsigned char raw[12];
  RAND_bytes(raw, sizeof raw);
  std::string id;
  for (auto b : raw) id += fmt::format("{:02x}", b);
  return fmt::format("<{}.{}@{}>", id, s.id, s.svc.hostname);
}

// The message ready to store: in memory, or a spool file.
struct prepared {
  std::string header;  // as stored, for success reports
  std::string memory;
  store::spool_file spool;
  bool spooled = false;
  uint64_t size = 0;
  uint32_t dot_lines = 0;
};

struct outcome {
  std::string reply;                // the reply to DATA
  std::string log;                  // what the node's log says
  std::vector<std::string> failed;  // "addr: words" of copies that failed after others were stored
  bool queued = false;              // a copy went to the outbound queue
};

struct job {
  std::string user, hostname, session_id, date, message_id, prefix;
  int64_t user_id = 0;
  bool save_sent = false;
  std::vector<smtp::recipient> recipients;
  // For the outbound queue: the envelope as the relay will see it.
  std::string sender;
  bool smtputf8 = false, requiretls = false;
  smtp::dsn_mail dsn;
  queue::queue_store* queue = nullptr;
};

// Queues one copy for every remote recipient; the reply counts on it only
// once enqueue() returned, so it is durable.
base::result<std::string> queue_copy(const job& j, const prepared& p,
                                     std::vector<const smtp::recipient*> remote) {
  queue::new_message m;
  m.sender = j.sender;
  m.user_id = j.user_id;
  m.user = j.user;
  m.message_id = j.message_id;
  m.envid = j.dsn.envid;
  m.ret = j.dsn.ret;
  m.smtputf8 = j.smtputf8;
  m.requiretls = j.requiretls;
  for (auto* r : remote) m.recipients.push_back({r->address, r->notify, r->orcpt});
  queue::message_source src;
  if (p.spooled) {
    src.fd = p.spool.fd;
    src.size = p.size;
  } else {
    src.memory = p.memory;
  }
  return j.queue->enqueue(m, src, static_cast<int64_t>(::time(nullptr)));
}

// Reads the header, checks From, rewrites. A refusal comes back as the reply.
base::result<prepared> prepare(const job& j, smtp::received_message& msg, store::store& mail,
                               directory::directory& dir, std::string& refusal) {
  std::string buffer;
  std::string_view view;
  if (msg.spooled) {
    size_t want = std::min<uint64_t>(msg.size, j.prefix.size() + max_header + 4);
    buffer.resize(want);
    auto n = ::pread(msg.spool.fd, buffer.data(), want, 0);
    if (n != static_cast<ssize_t>(want))
      return base::error{base::errc::io_error, "cannot read the spooled message back", ""};
    view = buffer;
  } else {
    view = msg.memory;
  }
  size_t start = j.prefix.size();
  size_t fields_end = 0, header_end = 0;
  bool blank = true;
  if (view.substr(start, 2) == "\r\n") {
    fields_end = start;
    header_end = start + 2;
  } else if (auto p = view.find("\r\n\r\n", start); p != std::string_view::npos) {
    fields_end = p + 2;
    header_end = p + 4;
  } else if (view.size() == msg.size) {
    fields_end = header_end = view.size();  // a message without a body
    blank = false;
  } else {
    refusal = fmt::format("554 5.6.0 The message header is longer than {} bytes", max_header);
    return prepared{};
  }
  auto fields = view.substr(start, fields_end - start);
  auto facts = read_header(fields);
  std::string added;
  bool on_behalf = false;
  if (facts.from.empty()) added += fmt::format("From: <{}>\r\n", j.user);
  for (auto& from : facts.from) {
    auto v = may_send_as(dir, j.user, base::normalize_address(from));
    if (!v.allowed) {
      refusal = (v.temporary ? "451 4.3.0 " : "550 5.7.1 ") + v.words + " (From field)";
      return prepared{};
    }
    on_behalf = on_behalf || v.on_behalf;
  }
  if (!facts.date) added += "Date: " + j.date + "\r\n";
  if (!facts.message_id) added += "Message-ID: " + j.message_id + "\r\n";
  if (on_behalf && !facts.sender) added += fmt::format("Sender: <{}>\r\n", j.user);
  auto header = j.prefix + rewrite_header(fields, added) + (blank ? "\r\n" : "");
  prepared p;
  p.header = header;
  p.dot_lines = msg.dot_lines - store::count_dot_lines(view.substr(start, header_end - start)) +
                store::count_dot_lines(header);
  p.size = header.size() + (msg.size - header_end);
  if (!msg.spooled) {
    p.memory = header;
    p.memory.append(msg.memory, header_end);
    return p;
  }
  auto copy = smtp::copy_spool(mail, msg.spool, header_end, msg.size, header);
  if (!copy) return copy.err();
  p.spool = std::move(*copy);
  p.spooled = true;
  return p;
}

base::result<uint32_t> store_copy(store::store& mail, directory::directory& dir,
                                  const smtp::recipient& r, std::string_view folder,
                                  const prepared& p, uint32_t flags, int64_t now) {
  auto mb = mail.open(r.user_id);
  if (!mb) return mb.err();
  if (auto q = smtp::check_quota(dir, **mb, r.address, p.size); !q) return q.err();
  if (folder != "INBOX") {
    auto made = (*mb)->create_folder(folder, "");
    if (!made && made.err().code != base::errc::already_exists) return made.err();
  }
  if (!p.spooled) return (*mb)->append(folder, store::new_message{p.memory, now, flags});
  return (*mb)->append_file(folder,
                            store::spooled_message{&p.spool, p.size, p.dot_lines, now, flags, {}});
}

// A plain bounce (the outbound queue's RFC 3464 reports come with it) into
// the sender's own INBOX for the copies that failed.
void bounce(store::store& mail, const job& j, const std::vector<std::string>& failed) {
  auto mb = mail.open(j.user_id);
  if (!mb) return;
  std::string text = fmt::format(
      "From: Mail Delivery System <MAILER-DAEMON@{}>\r\nTo: <{}>\r\nSubject: Undelivered "
      "Mail: {}\r\nDate: {}\r\nMessage-ID: {}\r\nAuto-Submitted: auto-replied\r\n\r\nYour "
      "message {} was accepted, but it could not be stored for these recipients:\r\n\r\n",
      j.hostname, j.user, j.message_id, j.date, "<bounce." + j.message_id.substr(1), j.message_id);
  for (auto& f : failed) text += "  " + f + "\r\n";
  (void)(*mb)->append("INBOX", store::new_message{text, 0, 0});
}

// RFC 3461 NOTIFY=SUCCESS for copies stored here: an RFC 3464 report with
// Action: delivered, into the envelope sender's mailbox (the sender is always
// an address of a user here: submission checked it).
void report_delivery(store::store& mail, directory::directory& dir, const job& j, const prepared& p,
                     const std::vector<queue::dsn_recipient>& delivered, int64_t now) {
  auto owner = dir.find_recipient(j.sender);
  if (!owner) {
    observe::log(observe::level::warning, "submission", j.session_id,
                 "no delivery report for {}: <{}> is not a mailbox here ({})", j.message_id,
                 j.sender, owner.err().message);
    return;
  }
  queue::queued_message about;
  about.id = j.session_id;
  about.sender = j.sender;
  about.created = now;
  about.message_id = j.message_id;
  about.envid = j.dsn.envid;
  queue::dsn_request req;
  req.what = queue::dsn_request::kind::delivered;
  req.reporting_host = j.hostname;
  req.message = &about;
  req.recipients = delivered;
  req.original = p.header;
  req.now = now;
  auto text = queue::make_dsn(req);
  auto mb = mail.open(owner->id);
  auto stored = mb ? (*mb)->append("INBOX", store::new_message{text, now, 0})
                   : base::result<uint32_t>(mb.err());
  if (!stored)
    observe::log(observe::level::warning, "submission", j.session_id,
                 "the delivery report for {} could not be stored for <{}>: {}", j.message_id,
                 j.sender, stored.err().message);
}

outcome deliver(const job& j, smtp::received_message& msg, store::store& mail,
                directory::directory& dir) {
  outcome o;
  std::string refusal;
  auto p = prepare(j, msg, mail, dir, refusal);
  if (!p) {
    o.reply = fmt::format("{} {} (session {})", smtp::reply_code_of(p.err().code),
                          core::client_words(p.err()), j.session_id);
    o.log = fmt::format("preparing the message failed: {} ({})", p.err().message, p.err().detail);
    return o;
  }
  if (!refusal.empty()) {
    o.reply = refusal;
    o.log = "refused: " + refusal;
    return o;
  }
  auto now = static_cast<int64_t>(::time(nullptr));
  size_t stored = 0;
  base::error first_error{base::errc::io_error, "", ""};
  std::vector<const smtp::recipient*> remote;
  for (auto& r : j.recipients)
    if (r.user_id == 0) remote.push_back(&r);
  std::string queue_id;
  if (!remote.empty()) {
    auto queued = j.queue ? queue_copy(j, *p, remote)
                          : base::result<std::string>(
                                base::error{base::errc::unavailable, "no relay is configured", ""});
    if (queued) {
      queue_id = *queued;
      stored += remote.size();
    } else {
      first_error = queued.err();
      for (auto* r : remote)
        o.failed.push_back(fmt::format("<{}>: {}", r->address, core::client_words(queued.err())));
    }
  }
  std::vector<queue::dsn_recipient> delivered;
  for (auto& r : j.recipients) {
    if (r.user_id == 0) continue;
    auto uid = store_copy(mail, dir, r, "INBOX", *p, 0, now);
    if (uid) {
      ++stored;
      if (queue::wants_report(r.notify, queue::dsn_request::kind::delivered))
        delivered.push_back({r.address, r.orcpt, "2.0.0", "250 2.0.0 stored in the mailbox"});
    } else {
      if (o.failed.empty()) first_error = uid.err();
      o.failed.push_back(fmt::format("<{}>: {}", r.address, core::client_words(uid.err())));
    }
  }
  if (stored == 0) {
    o.reply = fmt::format("{} {} (session {})", smtp::reply_code_of(first_error.code),
                          o.failed.front(), j.session_id);
    o.log = "no recipient's copy could be stored: " + o.failed.front();
    return o;
  }
  if (j.save_sent) {
    smtp::recipient self{j.user, j.user_id, {}, {}};
    if (auto uid = store_copy(mail, dir, self, "Sent", *p, store::flag_seen, now); !uid)
      o.failed.push_back(fmt::format("your Sent folder: {}", core::client_words(uid.err())));
  }
  if (!o.failed.empty()) bounce(mail, j, o.failed);
  if (!delivered.empty()) report_delivery(mail, dir, j, *p, delivered, now);
  o.reply = fmt::format("250 2.0.0 Message {} accepted for {} recipient(s){}{}", j.message_id,
                        stored, queue_id.empty() ? "" : ", queued as " + queue_id,
                        o.failed.empty() ? "" : "; a report of the rest is in your INBOX");
  o.log = fmt::format(
      "message {} of {} bytes from {} to {} recipient(s){}{}", j.message_id, p->size, j.user,
      stored, queue_id.empty() ? "" : fmt::format(" ({} queued as {})", remote.size(), queue_id),
      o.failed.empty() ? "" : "; not stored for: " + base::join(o.failed, "; "));
  o.queued = !queue_id.empty();
  return o;
}

}  // namespace

namespace {

job make_job(state& s, std::string prefix) {
  job j;
  j.user = s.user;
  j.user_id = s.user_id;
  j.hostname = s.svc.hostname;
  j.session_id = s.id;
  j.date = rfc5322_date(::time(nullptr));
  j.message_id = new_message_id(s);
  j.prefix = std::move(prefix);
  j.save_sent = s.settings->save_sent;
  j.recipients = s.env.recipients;
  j.sender = s.env.sender.value_or("");
  j.smtputf8 = s.smtputf8;
  j.requiretls = s.requiretls;
  j.dsn = s.dsn;
  j.queue = s.svc.queue;
  return j;
}

std::string too_big_reply(const state& s, uint64_t bytes) {
  return fmt::format(
      "552 5.3.4 Message too big: {} bytes exceeds the limit of {} bytes (max_message_size)", bytes,
      s.settings->max_message_size);
}

// What DATA and the last BDAT do with the message they received.
net::awaitable<void> accept_message(state& s, job& j, smtp::received_message& msg) {
  using kind = smtp::received_message::kind;
  switch (msg.what) {
    case kind::complete:
      break;
    case kind::lost:
      observe::log(observe::level::info, "submission", s.id,
                   "connection from {} ended during the message after {} bytes; nothing sent",
                   s.conn->remote_ip(), msg.message_bytes);
      s.quit = true;
      co_return;
    case kind::too_slow:
      s.reply(fmt::format(
          "421 4.4.2 {} message too slow: {} bytes in the time allowed (authenticated_timeout + "
          "size / min_data_rate); nothing was sent",
          s.svc.hostname, msg.message_bytes));
      s.quit = true;
      co_return;
    case kind::too_big:
      s.reply(too_big_reply(s, msg.message_bytes));
      s.reset();
      co_return;
    case kind::failed:
      observe::log(observe::level::error, "submission", s.id, "spooling a message failed: {} ({})",
                   msg.error.message, msg.error.detail);
      s.reply(fmt::format("{} {} (session {})", smtp::reply_code_of(msg.error.code),
                          core::client_words(msg.error), s.id));
      s.reset();
      co_return;
  }
  auto& mail = s.svc.mail;
  auto& dir = s.svc.dir;
  auto work = [&j, &msg, &mail, &dir] { return deliver(j, msg, mail, dir); };
  auto o = co_await net::run_blocking(std::move(work));
  observe::log(o.reply.starts_with("250") ? observe::level::info : observe::level::warning,
               "submission", s.id, "{}: {}", s.who(), o.log);
  if (o.reply.starts_with("250") && s.svc.send_rate)
    s.svc.send_rate->record(s.user, s.settings->max_messages_per_hour);
  if (o.queued && s.svc.relay) s.svc.relay->wake();
  s.reply(o.reply);
  s.reset();
}

}  // namespace

net::awaitable<void> cmd_data(state& s, std::string_view) {
  if (s.chunks) {
    s.reply("503 5.5.1 DATA cannot follow BDAT in one transaction (RFC 3030 §2): send RSET");
    co_return;
  }
  s.reply("354 Send the message; end with <CRLF>.<CRLF>");
  bool sent = co_await s.flush();
  if (!sent) {
    s.quit = true;
    co_return;
  }
  s.status.clear();  // the outcome is the reply after the message, not the 354
  auto j = make_job(s, received_field(s));
  smtp::data_limits limits{s.settings->max_message_size, s.settings->authenticated_timeout,
                           s.settings->min_data_rate};
  auto msg = co_await smtp::receive_data(s, s.svc.mail, j.prefix, limits);
  co_await accept_message(s, j, msg);
}

// RFC 3030: "BDAT <size> [LAST]", then exactly <size> bytes, never
// dot-stuffed. Every chunk whose size could be read is read, even when it is
// refused, so the bytes are never taken for commands.
net::awaitable<void> cmd_bdat(state& s, std::string_view args) {
  auto words = base::split(base::trim(args), ' ');
  std::optional<uint64_t> size;
  if (!words.empty()) size = base::parse_u64(words[0]);
  bool last = words.size() == 2 && base::iequals(words[1], "LAST");
  if (!size || words.size() > 2 || (words.size() == 2 && !last)) {
    // Without a size the chunk's end cannot be found: the session cannot go on.
    s.reply(
        "501 5.5.4 BDAT needs a chunk size and optionally LAST (RFC 3030): closing the "
        "connection, since the chunk's end cannot be found");
    s.quit = true;
    co_return;
  }
  s.status.clear();
  bool open = s.stage == phase::rcpt;
  uint64_t limit = s.settings->max_message_size;
  if (s.chunk_bytes + *size > limit) {
    // Reading gigabytes to stay in step is no defence: refuse and close.
    s.reply(too_big_reply(s, s.chunk_bytes + *size) + "; closing the connection");
    s.quit = true;
    co_return;
  }
  if (open && !s.chunks) {
    s.chunks_prefix = received_field(s);
    s.chunks = std::make_unique<smtp::message_builder>(s.svc.mail, s.chunks_prefix);
  }
  auto started = net::connection::clock::now();
  uint64_t left = *size;
  while (left > 0) {
    auto allowance =
        std::chrono::seconds((*size - left) / std::max<uint64_t>(s.settings->min_data_rate, 1));
    auto deadline = started + s.settings->authenticated_timeout + allowance;
    // RFC 2920 §3.1: replies held for a pipelined batch go out before the
    // server waits for the client.
    if (!s.conn->has_buffered_input() && !s.out.empty()) {
      bool sent = co_await s.flush();
      if (!sent) {
        s.quit = true;
        co_return;
      }
    }
    std::string_view chunk;
    auto st = co_await s.conn->read_some(chunk, deadline);
    if (st != net::read_status::ok) {
      smtp::received_message lost;
      lost.what = st == net::read_status::timed_out ? smtp::received_message::kind::too_slow
                                                    : smtp::received_message::kind::lost;
      lost.message_bytes = s.chunk_bytes + (*size - left);
      job none;
      co_await accept_message(s, none, lost);
      co_return;
    }
    auto take = static_cast<size_t>(std::min<uint64_t>(left, chunk.size()));
    if (take < chunk.size()) s.conn->unread(chunk.size() - take);
    if (s.chunks) {
      s.chunks->feed(chunk.substr(0, take));
      co_await s.chunks->spool_if_full();
    }
    left -= take;
  }
  if (!open) {
    s.reply(s.stage == phase::connected ? "503 5.5.1 Send EHLO first"
            : s.stage == phase::greeted ? "530 5.7.0 Authentication required: send AUTH first"
            : s.stage == phase::mail    ? "503 5.5.1 No valid recipients: send RCPT TO first"
                                        : "503 5.5.1 Send MAIL FROM first");
    co_return;
  }
  s.chunk_bytes += *size;
  if (!last) {
    s.reply(fmt::format("250 2.0.0 {} bytes received", *size));
    co_return;
  }
  auto j = make_job(s, s.chunks_prefix);
  auto builder = std::move(s.chunks);
  auto msg = co_await builder->finish(s.chunk_bytes);
  co_await accept_message(s, j, msg);
}

}  // namespace postern::session::submission
