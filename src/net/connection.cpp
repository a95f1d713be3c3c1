#include "net/connection.hpp"

#include <fmt/format.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "net/tls_stream.hpp"

namespace postern::net {

namespace {
// An idle connection holds this much input buffer: a few command lines.
constexpr size_t idle_buffer = 1024;
// Raw chunks (LMTP DATA) are read this many bytes at a time.
constexpr size_t chunk_buffer = 64 * 1024;
// After a timeout, how long the session has to write its goodbye.
constexpr auto goodbye_grace = std::chrono::seconds(2);
// Output to a slow reader must make progress by this much per timeout.
constexpr uint64_t send_progress = 256 * 1024;
}  // namespace

connection::connection(tcp::socket socket, std::shared_ptr<asio::ssl::context> tls)
    : socket_(std::move(socket)), tls_ctx_(std::move(tls)), timer_(socket_.get_executor()) {
  error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  if (!ec) {
    auto addr = ep.address();
    if (addr.is_v6() && addr.to_v6().is_v4_mapped())
      addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
    remote_ip_ = addr.to_string();
    remote_port_ = ep.port();
  }
  auto local = socket_.local_endpoint(ec);
  if (!ec) {
    local_port_ = local.port();
    auto addr = local.address();
    if (addr.is_v6() && addr.to_v6().is_v4_mapped())
      addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
    local_ip_ = addr.to_string();
  }
  socket_.set_option(tcp::no_delay(true), ec);
}

connection::~connection() = default;

void connection::start() {
  asio::co_spawn(
      socket_.get_executor(), [self = shared_from_this()] { return self->watchdog(); },
      asio::detached);
}

awaitable<void> connection::watchdog() {
  while (!closed_) {
    // With no operation running the watchdog still wakes once per timeout,
    // so that arming the next operation (whose deadline is then never sooner
    // than this wake-up) costs a comparison, not a timer cancellation.
    auto now = clock::now();
    timer_expiry_ = deadline_ != clock::time_point::max()
                        ? deadline_
                        : std::min(now + timeout_, phase_deadline_);
    timer_.expires_at(timer_expiry_);
    co_await timer_.async_wait(use_nothrow);
    if (closed_) break;
    now = clock::now();
    if (now >= deadline_ || now >= phase_deadline_) {
      if (timed_out_) {  // the goodbye's grace period is over too
        close();
        break;
      }
      // Cut the pending operation short but leave the socket open for a
      // moment, so the session can say why it disconnects ("idle timeout
      // (preauthenticated_timeout)"); a client that does not read even that
      // is closed when the grace period ends.
      timed_out_ = true;
      deadline_ = clock::time_point::max();
      phase_deadline_ = now + goodbye_grace;
      error_code ec;
      socket_.cancel(ec);
    }
  }
}

void connection::arm(clock::time_point deadline) {
  deadline_ = std::min(deadline, phase_deadline_);
  // Wake the watchdog only when the new deadline is sooner than its timer
  // (a shorter timeout or the phase deadline): rare.
  if (deadline_ < timer_expiry_) timer_.cancel();
}

void connection::close() {
  if (closed_) return;
  closed_ = true;
  error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  timer_.cancel();
}

void connection::interrupt() {
  interrupted_ = true;
  // Only a read waiting for a new command is cut short; anything else
  // finishes and the session says goodbye after it.
  if (idle_ && reading_ && !closed_) {
    error_code ec;
    socket_.cancel(ec);
  }
}

std::string connection::tls_description() const {
  if (!tls_active_ || !tls_) return {};
  return tls_->version() + " " + tls_->cipher();
}

std::string connection::verified_client_certificate() const {
  if (!tls_active_ || !tls_) return {};
  bool verified = false;
  auto subject = tls_->peer_subject(verified);
  return verified ? subject : std::string();
}

std::string connection::unverified_client_certificate() const {
  if (!tls_active_ || !tls_) return {};
  bool verified = false;
  auto subject = tls_->peer_subject(verified);
  return verified ? std::string() : subject;
}

awaitable<bool> connection::start_tls() {
  in_begin_ = in_end_ = 0;
  if (!tls_ctx_) co_return false;
  tls_ = std::make_unique<tls_stream>(socket_, tls_ctx_->native_handle());
  arm_for_operation();
  auto ec = co_await tls_->handshake();
  disarm();
  if (ec || closed_) {
    tls_failure_ = timed_out_                 ? "no handshake within the timeout"
                   : !tls_->failure().empty() ? tls_->failure()
                                              : ec.message();
    co_return false;
  }
  tls_active_ = true;
  co_return true;
}

void connection::grow(size_t capacity) {
  if (capacity <= in_cap_) return;
  auto bigger = std::make_unique<char[]>(capacity);
  if (in_end_ > in_begin_) std::memcpy(bigger.get(), in_.get() + in_begin_, in_end_ - in_begin_);
  in_end_ -= in_begin_;
  in_begin_ = 0;
  in_ = std::move(bigger);
  in_cap_ = capacity;
}

void connection::compact() {
  if (in_begin_ == 0) return;
  if (in_end_ > in_begin_) std::memmove(in_.get(), in_.get() + in_begin_, in_end_ - in_begin_);
  in_end_ -= in_begin_;
  in_begin_ = 0;
}

void connection::release_buffer() {
  size_t held = in_end_ - in_begin_;
  if (in_cap_ <= idle_buffer || held > idle_buffer) return;
  auto small = std::make_unique<char[]>(idle_buffer);
  if (held) std::memcpy(small.get(), in_.get() + in_begin_, held);
  in_ = std::move(small);
  in_cap_ = idle_buffer;
  in_begin_ = 0;
  in_end_ = held;
}

awaitable<read_status> connection::fill(size_t want_capacity) {
  if (closed_) co_return timed_out_ ? read_status::timed_out : read_status::closed;
  if (timed_out_) co_return read_status::timed_out;  // only the goodbye is left
  if (injected_failure(fail_read_at_, reads_)) co_return read_status::error;
  compact();
  // Grows only when a command needs more than the buffer holds (callers cap
  // the size: read_line discards, read_frame reports too_long).
  size_t target = std::max({in_cap_, idle_buffer, want_capacity});
  if (in_end_ == target) target *= 2;
  grow(target);
  error_code ec;
  size_t n = 0;
  if (z_) {
    // Inflate what is pending; read compressed bytes only when it is not
    // enough for one byte of output.
    for (;;) {
      if (z_->has_input()) {
        long got = z_->inflate_into(in_.get() + in_end_, in_cap_ - in_end_);
        if (got < 0) co_return read_status::error;  // a corrupt stream: nothing to resync on
        if (got > 0) {
          in_end_ += static_cast<size_t>(got);
          co_return read_status::ok;
        }
      }
      char raw[16384];
      reading_ = true;
      auto waiting = clock::now();
      if (tls_active_) {
        std::tie(ec, n) = co_await tls_->read_some(raw, sizeof raw);
      } else {
        std::tie(ec, n) = co_await socket_.async_read_some(asio::buffer(raw), use_nothrow);
      }
      io_wait_ += clock::now() - waiting;
      reading_ = false;
      if (timed_out_) co_return read_status::timed_out;
      if (ec) break;
      bytes_in_ += n;
      z_->add_input(std::string_view(raw, n));
    }
  } else {
    auto buf = asio::buffer(in_.get() + in_end_, in_cap_ - in_end_);
    reading_ = true;
    auto waiting = clock::now();
    if (tls_active_) {
      std::tie(ec, n) = co_await tls_->read_some(in_.get() + in_end_, in_cap_ - in_end_);
    } else {
      std::tie(ec, n) = co_await socket_.async_read_some(buf, use_nothrow);
    }
    io_wait_ += clock::now() - waiting;
    reading_ = false;
  }
  if (timed_out_) co_return read_status::timed_out;
  if (ec) {
    if (ec == asio::error::operation_aborted && interrupted_ && !closed_)
      co_return read_status::interrupted;
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted)
      co_return read_status::closed;
    co_return read_status::error;
  }
  in_end_ += n;
  bytes_in_ += n;
  co_return read_status::ok;
}

bool connection::start_compression() {
  if (z_) return false;
  auto z = std::make_unique<deflate_codec>();
  if (!z->ok()) return false;
  // Anything the client sent after the COMPRESS command is already compressed.
  if (in_end_ > in_begin_)
    z->add_input(std::string_view(in_.get() + in_begin_, in_end_ - in_begin_));
  in_begin_ = in_end_ = 0;
  z_ = std::move(z);
  return true;
}

bool connection::has_buffered_line() const {
  return in_end_ > in_begin_ &&
         std::memchr(in_.get() + in_begin_, '\n', in_end_ - in_begin_) != nullptr;
}

awaitable<read_status> connection::read_line(std::string& line, size_t max_size) {
  if (timed_out_) co_return read_status::timed_out;  // no more commands, buffered or not
  bool discarding = false;
  bool armed = false;
  for (;;) {
    const char* start = in_.get() + in_begin_;
    size_t avail = in_end_ - in_begin_;
    auto* nl = avail ? static_cast<const char*>(std::memchr(start, '\n', avail)) : nullptr;
    if (nl) {
      if (armed) disarm();
      size_t len = static_cast<size_t>(nl - start) + 1;
      in_begin_ += len;
      if (discarding || len > max_size) co_return read_status::too_long;
      size_t body = len - 1;
      if (body > 0 && start[body - 1] == '\r') --body;
      line.assign(start, body);
      co_return read_status::ok;
    }
    if (avail >= max_size) {
      // No terminator within the limit: drop what we have and keep dropping
      // until the line ends, so memory stays bounded.
      discarding = true;
      in_begin_ = in_end_ = 0;
    }
    if (!armed) {
      // The whole line must arrive within one timeout, however it trickles.
      if (idle_ && interrupted_ && in_begin_ == in_end_) co_return read_status::interrupted;
      arm_for_operation();
      armed = true;
    }
    auto st = co_await fill(idle_buffer);
    if (st != read_status::ok) {
      disarm();
      co_return st;
    }
  }
}

awaitable<read_status> connection::read_some(std::string_view& chunk, clock::time_point deadline) {
  if (in_begin_ == in_end_) {
    in_begin_ = in_end_ = 0;
    arm(deadline);
    auto st = co_await fill(chunk_buffer);
    disarm();
    if (st != read_status::ok) co_return st;
  }
  chunk = std::string_view(in_.get() + in_begin_, in_end_ - in_begin_);
  in_begin_ = in_end_;
  co_return read_status::ok;
}

awaitable<read_status> connection::read_frame(
    const std::function<frame_step(std::string_view)>& scan,
    const std::function<awaitable<bool>()>& on_continuation, std::string& out, size_t max_size) {
  bool armed = false;
  for (;;) {
    std::string_view buffered(in_.get() + in_begin_, in_end_ - in_begin_);
    auto step = scan(buffered);
    if (step.what == frame_step::kind::complete) {
      if (armed) disarm();
      out.assign(buffered.data(), step.length);
      in_begin_ += step.length;
      co_return read_status::ok;
    }
    if (step.what == frame_step::kind::too_long || buffered.size() >= max_size) {
      if (armed) disarm();
      co_return read_status::too_long;
    }
    if (step.what == frame_step::kind::continuation) {
      bool sent = co_await on_continuation();
      if (!sent) co_return read_status::closed;
    }
    if (!armed) {
      if (idle_ && interrupted_ && buffered.empty()) co_return read_status::interrupted;
      arm_for_operation();
      armed = true;
    }
    // The frame stays whole in the buffer, so the buffer grows toward the cap.
    auto st = co_await fill(idle_buffer);
    if (st != read_status::ok) {
      disarm();
      co_return st;
    }
  }
}

awaitable<bool> connection::write(std::string_view data, bool more) {
  if (closed_ || injected_failure(fail_write_at_, writes_)) co_return false;
  std::string compressed;
  if (z_) {
    if (!z_->compress(data, compressed)) co_return false;
    data = compressed;
    more = false;
  }
  arm_for_operation();
  error_code ec;
  size_t total = data.size();
  auto waiting = clock::now();
  if (tls_active_) {
    ec = co_await tls_->write_all(data);
  } else if (more) {
    while (!data.empty() && !ec) {
      size_t n = 0;
      std::tie(ec, n) = co_await socket_.async_send(asio::buffer(data), MSG_MORE, use_nothrow);
      data.remove_prefix(n);
    }
  } else {
    std::tie(ec, std::ignore) =
        co_await asio::async_write(socket_, asio::buffer(data), use_nothrow);
  }
  io_wait_ += clock::now() - waiting;
  disarm();
  if (!ec) bytes_out_ += total;
  co_return !ec && !closed_;
}

awaitable<bool> connection::write_beside_read(std::string_view data) {
  if (closed_ || injected_failure(fail_write_at_, writes_)) co_return false;
  std::string compressed;
  if (z_) {
    if (!z_->compress(data, compressed)) co_return false;
    data = compressed;
  }
  error_code ec;
  if (tls_active_) {
    ec = co_await tls_->write_all(data);
  } else {
    std::tie(ec, std::ignore) =
        co_await asio::async_write(socket_, asio::buffer(data), use_nothrow);
  }
  if (!ec) bytes_out_ += data.size();
  co_return !ec && !closed_;
}

awaitable<bool> connection::send_file(int fd, uint64_t offset, uint64_t length) {
  if (closed_ || injected_failure(fail_write_at_, writes_)) co_return false;
  if (z_) co_return false;  // never used with compression (only POP3 sends files)
  auto& sock = socket_;
  if (!native_non_blocking_) {
    error_code ec;
    sock.native_non_blocking(true, ec);
    if (ec) co_return false;
    native_non_blocking_ = true;
  }
  off_t off = static_cast<off_t>(offset);
  uint64_t left = length;
  uint64_t since_arm = 0;
  arm_for_operation();
  while (left > 0) {
    if (closed_) co_return false;
    auto n = ::sendfile(sock.native_handle(), fd, &off, left);
    if (n > 0) {
      left -= static_cast<uint64_t>(n);
      bytes_out_ += static_cast<uint64_t>(n);
      since_arm += static_cast<uint64_t>(n);
      // A slow reader must keep up a minimum pace, not merely stay connected.
      if (since_arm >= send_progress) {
        arm_for_operation();
        since_arm = 0;
      }
      continue;
    }
    if (n == 0) break;  // the file is shorter than the index says
    if (errno == EINTR) continue;
    if (errno != EAGAIN) break;
    auto waiting = clock::now();
    auto [wec] = co_await sock.async_wait(tcp::socket::wait_write, use_nothrow);
    io_wait_ += clock::now() - waiting;
    if (wec) break;
  }
  disarm();
  co_return left == 0 && !closed_;
}

}  // namespace postern::net
