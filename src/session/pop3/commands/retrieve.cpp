// RETR and TOP (RFC 1939 §7): the message streamed from its blob in chunks,
// byte-stuffed only when it has lines starting with '.', and sent with
// sendfile(2) when neither stuffing nor TLS needs the bytes in user space.
// Opening and reading the blob happen on the blocking pool, never on the I/O
// thread; the output budget bounds what waits for a slow reader.
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <optional>

#include "net/blocking.hpp"
#include "observe/log.hpp"
#include "proto/pop3/dot_stuff.hpp"
#include "session/pop3/commands.hpp"
#include "session/pop3/message_number.hpp"

namespace postern::session::pop3 {

namespace {

constexpr size_t chunk_size = 128 * 1024;

struct fd_guard {
  int fd = -1;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

// Bytes of the message to send: all of it, or the header plus `lines` body lines.
uint64_t top_length(int fd, const maildrop_entry& m, uint64_t lines) {
  if (m.header_size >= m.size) return m.size;
  uint64_t pos = m.header_size;
  if (lines == 0) return pos;
  std::string buf(64 * 1024, '\0');
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

struct opened_blob {
  int fd = -1;
  uint64_t length = 0;
};

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
    ssize_t n = 0;
    if (m.dot_lines == 0) {
      // Nothing to stuff: read straight into the output buffer (the session
      // is suspended while the pool writes there).
      auto old = s.out.size();
      s.out.resize(old + want);
      char* into = s.out.data() + old;
      auto read = [fd, into, want, pos] {
        return ::pread(fd, into, want, static_cast<off_t>(pos));
      };
      n = co_await net::run_blocking(std::move(read));
      s.out.resize(old + static_cast<size_t>(std::max<ssize_t>(n, 0)));
    } else {
      chunk.resize(want);
      char* into = chunk.data();
      auto read = [fd, into, want, pos] {
        return ::pread(fd, into, want, static_cast<off_t>(pos));
      };
      n = co_await net::run_blocking(std::move(read));
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
    bool sent = co_await s.flush_if_full();
    if (!sent) {
      s.quit = true;
      co_return;
    }
  }
  terminate(s.out, last);
}

net::awaitable<void> send_message(session& s, maildrop_entry& m, std::optional<uint64_t> lines) {
  auto number = &m - s.maildrop.data() + 1;
  auto mailbox = s.mailbox;
  auto entry = m;
  auto open = [mailbox, entry, lines]() -> base::result<opened_blob> {
    auto fd = mailbox->open_blob(entry.blob_id, entry.uid);
    if (!fd) return fd.err();
    // Start reading ahead now, so sendfile() finds the pages in memory.
    ::posix_fadvise(*fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    ::posix_fadvise(*fd, 0, static_cast<off_t>(entry.size), POSIX_FADV_WILLNEED);
    uint64_t length = lines ? top_length(*fd, entry, *lines) : entry.size;
    return opened_blob{*fd, length};
  };
  auto blob = co_await net::run_blocking(std::move(open));
  if (!blob) {
    if (blob.err().code == base::errc::not_found) {
      s.err(
          fmt::format("Message {} was deleted by another session of {} and can no longer be "
                      "retrieved",
                      number, s.user));
    } else {
      observe::log(observe::level::error, "pop3", s.id, "{} ({})", blob.err().message,
                   blob.err().detail);
      s.err(error_reply(s, blob.err()));
    }
    co_return;
  }
  fd_guard guard{blob->fd};
  if (lines)
    s.ok(fmt::format("Top of message {} follows", number));
  else
    s.ok(fmt::format("{} octets", m.size));
  co_await stream_body(s, blob->fd, m, blob->length);
}

}  // namespace

net::awaitable<void> cmd_retr(session& s, const proto::pop3::message_arg& a) {
  auto* m = find_message(s, a.number);
  if (!m) co_return;
  co_await send_message(s, *m, std::nullopt);
}

net::awaitable<void> cmd_top(session& s, const proto::pop3::top_args& a) {
  auto* m = find_message(s, a.number);
  if (!m) co_return;
  co_await send_message(s, *m, a.lines);
}

}  // namespace postern::session::pop3
