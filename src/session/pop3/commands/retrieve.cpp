// RETR and TOP (RFC 1939 §7): the message streamed from its blob in chunks,
// byte-stuffed only when it has lines starting with '.', and sent with
// sendfile(2) when neither stuffing nor TLS needs the bytes in user space.
//
// Nothing here blocks an I/O thread: the blob is opened and read on the I/O
// thread only when the kernel can do it from its caches without waiting
// (openat2 RESOLVE_CACHED, preadv2 RWF_NOWAIT); anything else goes to the
// blocking pool. The output budget bounds what waits for a slow reader.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/uio.h>
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

// pread that either completes from the page cache or fails with EAGAIN
// (`nowait`), or an ordinary pread (on the blocking pool).
ssize_t read_at(int fd, char* into, size_t n, uint64_t pos, bool nowait) {
  iovec v{into, n};
  for (;;) {
    auto r = ::preadv2(fd, &v, 1, static_cast<off_t>(pos), nowait ? RWF_NOWAIT : 0);
    if (r < 0 && errno == EINTR) continue;
    return r;
  }
}

// Bytes of the message to send: all of it, or the header plus `lines` body
// lines. nullopt when `nowait` and the bytes are not in memory.
std::optional<uint64_t> top_length(int fd, const maildrop_entry& m, uint64_t lines, bool nowait) {
  if (m.header_size >= m.size) return m.size;
  uint64_t pos = m.header_size;
  if (lines == 0) return pos;
  std::string buf(64 * 1024, '\0');
  while (pos < m.size) {
    auto n = read_at(fd, buf.data(), buf.size(), pos, nowait);
    if (n < 0 && nowait) return std::nullopt;
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

// Everything RETR/TOP needs before it answers: the descriptor and the length.
// `nowait`: give up (nullopt) rather than wait for the disk.
std::optional<base::result<opened_blob>> open_for_sending(store::mailbox& mb,
                                                          const maildrop_entry& m,
                                                          std::optional<uint64_t> lines,
                                                          bool copy_out, bool nowait) {
  int fd = -1;
  if (nowait) {
    auto cached = mb.open_blob_cached(m.blob_id);
    if (!cached) return std::nullopt;
    fd = *cached;
  } else {
    auto opened = mb.open_blob(m.blob_id, m.uid);
    if (!opened) return base::result<opened_blob>(opened.err());
    fd = *opened;
  }
  fd_guard guard{fd};
  auto length = lines ? top_length(fd, m, *lines, nowait) : std::optional<uint64_t>(m.size);
  if (!length) return std::nullopt;
  opened_blob b{fd, *length};
  if (copy_out) {
    // stream_body reads the bytes itself, from the cache when it can.
  } else if (nowait) {
    // sendfile() reads in the kernel: go ahead only if the end is cached
    // (files are written whole and read ahead, so the rest is too).
    char probe;
    if (b.length > 0 && read_at(fd, &probe, 1, b.length - 1, true) != 1) return std::nullopt;
  } else {
    // Start reading ahead now, so sendfile() finds the pages in memory.
    ::posix_fadvise(fd, 0, static_cast<off_t>(b.length), POSIX_FADV_WILLNEED);
  }
  guard.fd = -1;
  return base::result<opened_blob>(std::move(b));
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
    // Without stuffing the bytes go straight into the output buffer (the
    // session is suspended while the pool writes there, if it must).
    char* into = nullptr;
    size_t old = s.out.size();
    if (m.dot_lines == 0) {
      s.out.resize(old + want);
      into = s.out.data() + old;
    } else {
      chunk.resize(want);
      into = chunk.data();
    }
    auto n = read_at(fd, into, want, pos, true);
    if (n < 0 && errno == EAGAIN) {
      auto read = [fd, into, want, pos] { return read_at(fd, into, want, pos, false); };
      n = co_await net::run_blocking(std::move(read));
    }
    if (m.dot_lines == 0) s.out.resize(old + static_cast<size_t>(std::max<ssize_t>(n, 0)));
    if (n <= 0) {
      observe::log(observe::level::error, "pop3", s.id,
                   "message UID {} of {} is shorter than its index entry ({} of {} bytes)", m.uid,
                   s.user, pos, length);
      last = 0;
      break;
    }
    if (m.dot_lines != 0)
      stuffer.feed(std::string_view(chunk.data(), static_cast<size_t>(n)), s.out);
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
  bool copy_out = m.dot_lines > 0 || s.conn->tls_active();
  auto fast = open_for_sending(*s.mailbox, m, lines, copy_out, true);
  std::optional<base::result<opened_blob>> blob;
  if (fast) {
    blob = std::move(*fast);
  } else {
    auto mailbox = s.mailbox;
    auto entry = m;
    auto open = [mailbox, entry, lines, copy_out] {
      return std::move(*open_for_sending(*mailbox, entry, lines, copy_out, false));
    };
    blob = co_await net::run_blocking(std::move(open));
  }
  auto& b = *blob;
  if (!b) {
    if (b.err().code == base::errc::not_found) {
      s.err(
          fmt::format("Message {} was deleted by another session of {} and can no longer be "
                      "retrieved",
                      number, s.user));
    } else {
      observe::log(observe::level::error, "pop3", s.id, "{} ({})", b.err().message, b.err().detail);
      s.err(error_reply(s, b.err()));
    }
    co_return;
  }
  fd_guard guard{b->fd};
  if (lines)
    s.ok(fmt::format("Top of message {} follows", number));
  else
    s.ok(fmt::format("{} octets", m.size));
  co_await stream_body(s, b->fd, m, b->length);
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
