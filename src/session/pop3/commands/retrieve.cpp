// RETR and TOP (RFC 1939 §7): the message streamed from its blob in chunks,
// byte-stuffed only when it has lines starting with '.', and sent with
// sendfile(2) when neither stuffing nor TLS needs the bytes in user space.
#include <fmt/format.h>
#include <unistd.h>

#include <optional>

#include "base/strings.hpp"
#include "observe/log.hpp"
#include "proto/pop3/command.hpp"
#include "proto/pop3/dot_stuff.hpp"
#include "session/pop3/commands.hpp"
#include "session/pop3/message_number.hpp"

namespace postern::session::pop3 {

namespace {

constexpr size_t chunk_size = 64 * 1024;
constexpr size_t flush_at = 128 * 1024;

struct fd_guard {
  int fd;
  ~fd_guard() { ::close(fd); }
};

// Bytes of the message to send: all of it, or the header plus `lines` body lines.
uint64_t top_length(int fd, const maildrop_entry& m, uint64_t lines) {
  if (m.header_size >= m.size) return m.size;
  uint64_t pos = m.header_size;
  if (lines == 0) return pos;
  std::string buf(chunk_size, '\0');
  while (pos < m.size) {
    auto n = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(pos));
    if (n <= 0) return pos;
    for (ssize_t i = 0; i < n; ++i)
      if (buf[static_cast<size_t>(i)] == '\n' && --lines == 0)
        return pos + static_cast<uint64_t>(i) + 1;
    pos += static_cast<uint64_t>(n);
  }
  return m.size;
}

// Ends a multi-line response whose body so far ended with `last` (RFC 1939 §3).
void terminate(std::string& out, char last) {
  if (last != '\n') out += "\r\n";
  out += ".\r\n";
}

// Streams bytes [0, length) of the blob as a multi-line response body.
net::awaitable<void> stream_body(session& s, int fd, const maildrop_entry& m, uint64_t length) {
  // Blobs are canonical (end in CRLF) and TOP stops after an LF, so the range
  // ends a line; only a blob shorter than its index entry breaks that, and
  // then `last` is reset below.
  char last = '\n';
  if (m.dot_lines == 0 && !s.conn->tls_active()) {
    bool sent = co_await s.flush(true);
    if (sent) sent = co_await s.conn->send_file(fd, 0, length);
    if (!sent) {
      s.quit = true;
      co_return;
    }
    terminate(s.out, last);
    co_return;
  }
  proto::pop3::dot_stuffer stuffer;
  std::string chunk;
  uint64_t pos = 0;
  while (pos < length) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(chunk_size, length - pos));
    ssize_t n;
    if (m.dot_lines == 0) {
      // Nothing to stuff: read straight into the output buffer.
      auto old = s.out.size();
      s.out.resize(old + want);
      n = ::pread(fd, s.out.data() + old, want, static_cast<off_t>(pos));
      s.out.resize(old + static_cast<size_t>(std::max<ssize_t>(n, 0)));
    } else {
      chunk.resize(want);
      n = ::pread(fd, chunk.data(), want, static_cast<off_t>(pos));
      if (n > 0) stuffer.feed(std::string_view(chunk.data(), static_cast<size_t>(n)), s.out);
    }
    if (n <= 0) {
      observe::log(observe::level::error, "pop3", s.id,
                   "message UID {} of {} is shorter than its index entry ({} of {} bytes)", m.uid,
                   s.user, pos, length);
      last = 0;
      break;
    }
    pos += static_cast<uint64_t>(n);
    if (s.out.size() >= flush_at) {
      bool sent = co_await s.flush();
      if (!sent) {
        s.quit = true;
        co_return;
      }
    }
  }
  terminate(s.out, last);
}

net::awaitable<void> send_message(session& s, maildrop_entry& m, std::optional<uint64_t> lines) {
  auto number = &m - s.maildrop.data() + 1;
  auto fd = s.mailbox->open_blob(m.blob_id, m.uid);
  if (!fd) {
    if (fd.err().code == base::errc::not_found) {
      s.err(
          fmt::format("Message {} was deleted by another session of {} and can no longer be "
                      "retrieved",
                      number, s.user));
    } else {
      observe::log(observe::level::error, "pop3", s.id, "{} ({})", fd.err().message,
                   fd.err().detail);
      s.err(error_reply(s, fd.err()));
    }
    co_return;
  }
  fd_guard guard{*fd};
  uint64_t length = lines ? top_length(*fd, m, *lines) : m.size;
  if (lines)
    s.ok(fmt::format("Top of message {} follows", number));
  else
    s.ok(fmt::format("{} octets", m.size));
  co_await stream_body(s, *fd, m, length);
}

}  // namespace

net::awaitable<void> cmd_retr(session& s, std::string_view args) {
  auto* m = find_message(s, base::trim(args));
  if (!m) co_return;
  co_await send_message(s, *m, std::nullopt);
}

net::awaitable<void> cmd_top(session& s, std::string_view args) {
  auto two = proto::pop3::split_two(base::trim(args));
  if (!two) {
    s.err("TOP needs a message number and a line count: TOP 1 10");
    co_return;
  }
  auto lines = base::parse_u64(two->second);
  if (!lines) {
    s.err(fmt::format("Invalid line count '{}': expected a number of lines, 0 or more",
                      base::printable(two->second, 20)));
    co_return;
  }
  auto* m = find_message(s, two->first);
  if (!m) co_return;
  co_await send_message(s, *m, *lines);
}

}  // namespace postern::session::pop3
