// APPEND with MULTIAPPEND (RFC 9051 §6.3.12, RFC 3502), LITERAL+ (RFC 7888)
// and literal8 (RFC 3516): each message literal is streamed to a spool file
// in pieces, canonicalised on the way, so a 50 MB APPEND costs a buffer, not
// 50 MB; all messages of one command are stored in one transaction (all or
// none) and OK [APPENDUID] is sent only once they are durable.
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "base/strings.hpp"
#include "net/blocking.hpp"
#include "observe/log.hpp"
#include "proto/imap/store_args.hpp"
#include "session/imap/commands.hpp"
#include "session/imap/flags.hpp"
#include "session/imap/mailbox_name.hpp"
#include "session/imap/quota.hpp"
#include "session/imap/reader.hpp"
#include "session/imap/sequence.hpp"
#include "store/canonical.hpp"

namespace postern::session::imap {

using proto::imap::cursor;

namespace {

constexpr size_t spool_chunk = 256 * 1024;

// date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
std::optional<int64_t> parse_date_time(std::string_view t) {
  static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  // A one-digit day without its leading space is accepted too.
  std::string s(t);
  if (s.size() == 25) s = " " + s;
  if (s.size() != 26) return std::nullopt;
  auto num = [&](size_t at, size_t n) -> int {
    int v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (s[i] == ' ' && i == at) continue;
      if (s[i] < '0' || s[i] > '9') return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  int day = num(0, 2), year = num(7, 4), hh = num(12, 2), mm = num(15, 2), ss = num(18, 2);
  int zh = num(22, 2), zm = num(24, 2);
  int month = -1;
  for (int i = 0; i < 12; ++i)
    if (base::iequals(s.substr(3, 3), months[i])) month = i;
  if (s[2] != '-' || s[6] != '-' || s[11] != ' ' || s[14] != ':' || s[17] != ':' || s[20] != ' ' ||
      (s[21] != '+' && s[21] != '-'))
    return std::nullopt;
  if (day < 1 || day > 31 || month < 0 || year < 1900 || hh < 0 || hh > 23 || mm < 0 || mm > 59 ||
      ss < 0 || ss > 60 || zh < 0 || zm < 0 || zm > 59)
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month;
  tm.tm_mday = day;
  tm.tm_hour = hh;
  tm.tm_min = mm;
  tm.tm_sec = ss;
  int64_t t0 = ::timegm(&tm);
  int64_t zone = (zh * 3600 + zm * 60) * (s[21] == '-' ? -1 : 1);
  return t0 - zone;
}

struct message_args {
  std::vector<std::string> flags;
  int64_t internal_date = 0;
  bool utf8_wrapped = false;  // "UTF8 (" literal8 ")" (RFC 6855 §4)
};

// "[SP flag-list] [SP date-time] SP" before a message literal, and RFC 6855
// §4's "UTF8 (" that wraps it (Python's imaplib sends it once UTF8=ACCEPT is
// enabled; the ")" after the literal is taken off the rest of the line).
std::optional<std::string> read_message_args(cursor& c, message_args& a) {
  c.skip(' ');
  if (c.peek('(')) {
    auto f = proto::imap::read_flag_list(c);
    if (!f) return f.error().words;
    a.flags = std::move(*f);
    c.skip(' ');
  }
  if (c.peek('"')) {
    auto d = c.read_quoted("a date-time");
    if (!d) return d.error().words;
    auto t = parse_date_time(*d);
    if (!t)
      return fmt::format("invalid date-time \"{}\" (expected \"01-Feb-2026 10:00:00 +0000\")",
                         base::printable(*d));
    a.internal_date = *t;
    c.skip(' ');
  }
  if (base::iequals(c.rest(), "UTF8 (")) {
    a.utf8_wrapped = true;
    return std::nullopt;
  }
  if (!c.at_end())
    return fmt::format("unexpected {} before the message", base::printable(c.rest()));
  return std::nullopt;
}

// A BAD, then the end of the connection: a non-synchronizing literal is on
// its way, and its bytes would otherwise be read as commands (a message
// smuggling commands in). RFC 7888 §4 allows closing.
void bad_then_close(session& s, const std::string& words) {
  s.bad(words);
  s.out += s.completion;
  s.completion.clear();
  s.untagged("BYE The refused message was sent without waiting; closing");
  s.quit = true;
}

// A BAD for the rest of an APPEND line, closing if it announced a literal
// that will come without waiting for "+".
void bad_rest_of_line(session& s, const std::string& words, std::string_view line) {
  auto marker = trailing_literal(line);
  if (marker && !marker->sync)
    bad_then_close(s, words);
  else
    s.bad(words);
}

struct received {
  store::spool_file spool;
  std::string bytes;  // the message itself when it was kept in memory (no spool)
  uint64_t size = 0;
  uint32_t dot_lines = 0;
};

// Messages of one APPEND held in memory rather than spooled, at most: each
// under half of spool_chunk, and spool_chunk in all (MULTIAPPEND), so a
// command never holds more than a spooled message's buffer did.
constexpr uint64_t in_memory_per_command = spool_chunk;

// Reads one message literal of `n` bytes into a new spool file, or into
// memory when `in_memory` and it stays under spool_chunk (no spool file, no
// blocking call: the store writes it to its blob). A literal8 (RFC 3516) is
// kept byte for byte: its content may be binary, where a line ending is data;
// anything else is canonicalised to CRLF.
net::awaitable<base::result<received>> receive(session& s, uint64_t n, bool binary,
                                               bool in_memory) {
  auto& mail = s.svc.mail;
  // The spool file is created by the first write (at the end, for a message
  // under spool_chunk): one blocking call, not two.
  received r;
  store::canonical_stream canonical;
  std::string out;
  bool write_failed = false;
  base::error failure{base::errc::io_error, "", ""};
  auto spill = [&]() -> net::awaitable<void> {
    // An empty message still needs its (empty) spool file.
    if (write_failed || (out.empty() && r.spool.fd >= 0)) {
      out.clear();
      co_return;
    }
    std::string bytes;
    bytes.swap(out);
    // The coroutine waits while this runs, so the spool may be used by pointer.
    auto write = [&mail, spool = &r.spool, bytes = std::move(bytes)]() -> base::status {
      if (spool->fd < 0) {
        auto made = mail.create_spool();
        if (!made) return made.err();
        *spool = std::move(*made);
      }
      int fd = spool->fd;
      const std::string& path = spool->path;
      std::string_view rest = bytes;
      while (!rest.empty()) {
        auto w = ::write(fd, rest.data(), rest.size());
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
          int err = errno;
          return base::error{
              err == ENOSPC || err == EDQUOT ? base::errc::disk_full : base::errc::io_error,
              fmt::format("cannot write the message to disk: {}", std::strerror(err)), path};
        }
        rest.remove_prefix(static_cast<size_t>(w));
      }
      return base::ok_status();
    };
    auto st = co_await net::run_blocking(std::move(write));
    if (!st) {
      write_failed = true;
      failure = st.err();
    }
  };
  auto& conn = *s.conn;
  auto deadline = net::connection::clock::now() + conn.timeout();
  uint64_t left = n;
  while (left > 0) {
    std::string_view chunk;
    auto st = co_await conn.read_some(chunk, deadline);
    if (st != net::read_status::ok)
      co_return base::error{base::errc::unavailable, "the connection ended inside the message", ""};
    size_t take = static_cast<size_t>(std::min<uint64_t>(left, chunk.size()));
    size_t before = out.size();
    if (binary) {
      out.append(chunk.substr(0, take));
      std::string counted;  // the POP3 dot-line count of the canonical form
      canonical.feed(chunk.substr(0, take), counted);
    } else {
      canonical.feed(chunk.substr(0, take), out);
    }
    r.size += out.size() - before;
    if (take < chunk.size()) conn.unread(chunk.size() - take);
    left -= take;
    if (out.size() >= spool_chunk) co_await spill();
  }
  size_t before = out.size();
  if (binary) {
    std::string counted;
    canonical.finish(counted);
  } else {
    canonical.finish(out);
  }
  r.size += out.size() - before;
  if (in_memory && r.spool.fd < 0 && !write_failed) {
    r.bytes = std::move(out);
  } else {
    co_await spill();
  }
  if (write_failed) co_return failure;
  r.dot_lines = canonical.dot_lines();
  co_return r;
}

}  // namespace

namespace {

// The message REPLACE replaces (RFC 8508), in the selected folder.
struct replace_target {
  uint32_t uid = 0;  // 0: the set named no message (the append still happens)
  const char* verb = "REPLACE";
};

net::awaitable<void> append_impl(session& s, cursor& c, std::optional<replace_target> replace) {
  const char* verb = replace ? replace->verb : "APPEND";
  if (!s.append_literal) {
    s.bad(fmt::format("{} needs a message literal: {} mailbox [(flags)] [date-time] {{size}}", verb,
                      verb));
    co_return;
  }
  auto name = read_mailbox(s, c);
  std::string refusal;
  bool refusal_bad = false;
  if (auto* e = std::get_if<name_refusal>(&name)) {
    refusal = e->words;
    refusal_bad = e->syntax;
  }
  std::vector<received> messages;
  uint64_t held = 0;  // bytes of `messages` kept in memory
  std::vector<message_args> margs(1);
  if (refusal.empty()) {
    if (auto e = read_message_args(c, margs[0])) {
      refusal = *e;
      refusal_bad = true;
    }
  }
  uint64_t size = s.append_size;
  bool sync = s.append_sync;
  bool binary = s.append_binary;
  const uint64_t limit = s.settings->max_message_size;
  for (;;) {
    if (!refusal.empty() || size > limit) {
      if (refusal.empty())
        refusal = fmt::format(
            "[TOOBIG] The message has {} bytes; APPENDLIMIT (max_message_size) "
            "is {}",
            size, limit);
      if (!sync) {
        // RFC 7888 §4: the literal is on its way; the connection cannot
        // recover without reading it, so it ends.
        bad_then_close(s, refusal);
        co_return;
      }
      refusal_bad ? s.bad(refusal) : s.no(refusal);
      co_return;
    }
    if (sync) {
      s.out += "+ Ready for the message\r\n";
      bool sent = co_await s.flush();
      if (!sent) {
        s.quit = true;
        co_return;
      }
    }
    // Canonical CRLF may add a byte per line: the in-memory bound is checked
    // on the literal's size with room for that.
    bool in_memory = size < spool_chunk / 2 && held + 2 * size <= in_memory_per_command;
    auto got = co_await receive(s, size, binary, in_memory);
    if (!got) {
      if (got.err().code == base::errc::unavailable) {
        s.quit = true;
        co_return;
      }
      observe::log(observe::level::error, "imap", s.id, "APPEND for {} failed: {} ({})", s.who(),
                   got.err().message, got.err().detail);
      // The rest of the command still arrives; it is read and dropped.
      refusal = error_reply(s, got.err());
    } else {
      held += got->bytes.size();
      messages.push_back(std::move(*got));
    }
    // The rest of the line: its end, or the next message (MULTIAPPEND).
    std::string line;
    auto st = co_await s.conn->read_line(line, s.settings->max_command_size);
    if (st != net::read_status::ok) {
      s.quit = true;
      co_return;
    }
    if (margs.back().utf8_wrapped) {
      if (line.empty() || line[0] != ')') {
        bad_rest_of_line(s, "expected \")\" after the message of UTF8 (~{size}) (RFC 6855 §4)",
                         line);
        co_return;
      }
      line.erase(0, 1);
    }
    if (line.empty()) break;
    auto marker = trailing_literal(line);
    if (!marker || replace) {  // REPLACE takes one message (RFC 8508 §3)
      bad_rest_of_line(s, "expected another message or the end of the command after the message",
                       line);
      co_return;
    }
    cursor rest(std::string_view(line).substr(0, line.size() - marker->length));
    margs.emplace_back();
    if (auto e = read_message_args(rest, margs.back()); e && refusal.empty()) {
      refusal = *e;
      refusal_bad = true;
    }
    size = marker->size;
    sync = marker->sync;
    binary = marker->binary;
  }
  if (!refusal.empty()) {
    refusal_bad ? s.bad(refusal) : s.no(refusal);
    co_return;
  }
  uint64_t total = 0;
  for (auto& m : messages) total += m.size;
  std::vector<store::spooled_message> spooled;
  std::vector<std::vector<std::string>> keywords;
  for (size_t i = 0; i < messages.size(); ++i) {
    auto f = split_flag_names(margs[i].flags);
    auto& m = messages[i];
    spooled.push_back(store::spooled_message{m.spool.fd >= 0 ? &m.spool : nullptr, m.size,
                                             m.dot_lines, margs[i].internal_date, f.system,
                                             m.bytes});
    keywords.push_back(std::move(f.keywords));
  }
  auto mb = s.mailbox;
  auto folder = std::get<std::string>(name);
  // One blocking call: the quota, the store, and the spool files' removal
  // (their bytes are the blobs now, or the append failed).
  struct stored {
    std::optional<std::string> over;  // the quota's refusal
    base::result<store::appended> result = store::appended{};
  };
  auto quota = quota_check_work(s, total, messages.size());
  auto store_all = [mb, folder, quota = std::move(quota), &spooled, &keywords, &messages] {
    stored out;
    auto over = quota();
    if (!over)
      out.result = over.err();
    else if (*over)
      out.over = std::move(*over);
    else
      out.result = mb->append_files(folder, spooled, keywords);
    for (auto& m : messages) m.spool.discard();
    return out;
  };
  auto done = co_await net::run_blocking(std::move(store_all));
  if (done.over) {
    s.no(*done.over);
    co_return;
  }
  auto& uids = done.result;
  if (!uids) {
    if (uids.err().code == base::errc::not_found)
      s.no(fmt::format("[TRYCREATE] {}", uids.err().message));
    else
      s.no(error_reply(s, uids.err()));
    co_return;
  }
  auto mbf = s.mailbox;
  std::string code = fmt::format("[APPENDUID {} {}] ", uids->uidvalidity, compress_set(uids->uids));
  if (!replace) {
    s.ok(fmt::format("{}APPEND completed", code));
    co_return;
  }
  // RFC 8508 §3.3: APPENDUID in an untagged OK, then the old message goes
  // as by MOVE (its EXPUNGE follows before the tagged reply).
  s.untagged(fmt::format("OK {}Replacement message ready", code));
  if (replace->uid) {
    uint32_t old[] = {replace->uid};
    auto from = s.selected->name;
    std::vector<uint32_t> one(old, old + 1);
    auto remove = [mbf, from, one]() -> base::status {
      auto st = mbf->store_flags(from, one, {store::flag_change::add, store::flag_deleted, {}, {}});
      if (!st) return st.err();
      auto gone = mbf->expunge(from, one);
      if (!gone) return gone.err();
      return base::ok_status();
    };
    auto done = co_await net::run_blocking(std::move(remove));
    if (!done) {
      s.no(error_reply(s, done.err()));
      co_return;
    }
  }
  s.ok(fmt::format("{} completed", verb));
}

net::awaitable<void> replace(session& s, std::string_view args, bool by_uid) {
  cursor c(args);
  replace_target t;
  t.verb = by_uid ? "UID REPLACE" : "REPLACE";
  auto set = c.read_sequence_set(by_uid ? "a UID" : "a message number");
  if (!set || !c.expect_sp()) {
    // The literal is on its way or waits for "+": the reader stopped before it.
    s.bad(fmt::format("usage: {} 1 mailbox [(flags)] [date-time] {{size}}", t.verb));
    if (s.append_literal && !s.append_sync) s.quit = true;
    co_return;
  }
  auto r = resolve(*s.selected, *set, by_uid);
  if (!r.error.empty() || r.uids.size() > 1) {
    s.bad(r.error.empty() ? "REPLACE names exactly one message" : r.error);
    if (s.append_literal && !s.append_sync) s.quit = true;
    co_return;
  }
  if (s.selected->read_only) {
    s.no("[READ-ONLY] The mailbox was opened with EXAMINE");
    if (s.append_literal && !s.append_sync) s.quit = true;
    co_return;
  }
  t.uid = r.uids.empty() ? 0 : r.uids[0];
  co_await append_impl(s, c, t);
}

}  // namespace

net::awaitable<void> cmd_append(session& s, std::string_view args) {
  cursor c(args);
  co_await append_impl(s, c, std::nullopt);
}

net::awaitable<void> cmd_replace(session& s, std::string_view args) {
  co_await replace(s, args, false);
}
net::awaitable<void> cmd_uid_replace(session& s, std::string_view args) {
  co_await replace(s, args, true);
}

}  // namespace postern::session::imap
