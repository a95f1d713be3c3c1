#include "net/connection.hpp"

#include <sys/sendfile.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace postern::net {

connection::connection(tcp::socket socket, std::shared_ptr<asio::ssl::context> tls,
                       size_t buffer_size)
    : socket_(std::move(socket)),
      tls_ctx_(std::move(tls)),
      timer_(socket_.get_executor()),
      in_(buffer_size) {
  error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  if (!ec) {
    auto addr = ep.address();
    if (addr.is_v6() && addr.to_v6().is_v4_mapped())
      addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
    remote_ip_ = addr.to_string();
  }
  auto local = socket_.local_endpoint(ec);
  if (!ec) local_port_ = local.port();
  socket_.set_option(tcp::no_delay(true), ec);
}

connection::~connection() = default;

void connection::start() {
  arm();
  asio::co_spawn(
      socket_.get_executor(), [self = shared_from_this()] { return self->watchdog(); },
      asio::detached);
}

awaitable<void> connection::watchdog() {
  while (!closed_) {
    timer_.expires_at(deadline_);
    co_await timer_.async_wait(use_nothrow);
    if (closed_) break;
    if (std::chrono::steady_clock::now() >= deadline_) {
      timed_out_ = true;
      close();
      break;
    }
  }
}

void connection::set_timeout(std::chrono::steady_clock::duration d) {
  timeout_ = d;
  arm();
  // Wake the watchdog so it waits for the new deadline, which may be sooner.
  timer_.cancel();
}

void connection::close() {
  if (closed_) return;
  closed_ = true;
  error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  timer_.cancel();
}

awaitable<bool> connection::start_tls() {
  in_begin_ = in_end_ = 0;
  if (!tls_ctx_) co_return false;
  arm();
  tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(socket_, *tls_ctx_);
  auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::server, use_nothrow);
  if (ec) co_return false;
  tls_active_ = true;
  co_return true;
}

awaitable<read_status> connection::fill() {
  if (closed_) co_return timed_out_ ? read_status::timed_out : read_status::closed;
  if (in_begin_ > 0) {
    std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
    in_end_ -= in_begin_;
    in_begin_ = 0;
  }
  arm();
  auto buf = asio::buffer(in_.data() + in_end_, in_.size() - in_end_);
  error_code ec;
  size_t n = 0;
  if (tls_active_) {
    std::tie(ec, n) = co_await tls_->async_read_some(buf, use_nothrow);
  } else {
    std::tie(ec, n) = co_await socket_.async_read_some(buf, use_nothrow);
  }
  if (timed_out_) co_return read_status::timed_out;
  if (ec) {
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted)
      co_return read_status::closed;
    co_return read_status::error;
  }
  in_end_ += n;
  co_return read_status::ok;
}

bool connection::has_buffered_line() const {
  return std::memchr(in_.data() + in_begin_, '\n', in_end_ - in_begin_) != nullptr;
}

awaitable<read_status> connection::read_line(std::string& line, size_t max_size) {
  bool discarding = false;
  for (;;) {
    const char* start = in_.data() + in_begin_;
    size_t avail = in_end_ - in_begin_;
    auto* nl = static_cast<const char*>(std::memchr(start, '\n', avail));
    if (nl) {
      size_t len = static_cast<size_t>(nl - start) + 1;
      in_begin_ += len;
      if (discarding || len > max_size) co_return read_status::too_long;
      size_t body = len - 1;
      if (body > 0 && start[body - 1] == '\r') --body;
      line.assign(start, body);
      co_return read_status::ok;
    }
    if (avail >= max_size || avail == in_.size()) {
      // No terminator within the limit: drop what we have and keep dropping
      // until the line ends, so memory stays bounded.
      discarding = true;
      in_begin_ = in_end_ = 0;
    }
    auto st = co_await fill();
    if (st != read_status::ok) co_return st;
  }
}

awaitable<read_status> connection::read_some(std::string_view& chunk) {
  if (in_begin_ == in_end_) {
    in_begin_ = in_end_ = 0;
    auto st = co_await fill();
    if (st != read_status::ok) co_return st;
  }
  chunk = std::string_view(in_.data() + in_begin_, in_end_ - in_begin_);
  in_begin_ = in_end_;
  co_return read_status::ok;
}

awaitable<bool> connection::write(std::string_view data, bool more) {
  if (closed_) co_return false;
  arm();
  error_code ec;
  if (tls_active_) {
    std::tie(ec, std::ignore) = co_await asio::async_write(*tls_, asio::buffer(data), use_nothrow);
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
  co_return !ec && !closed_;
}

awaitable<bool> connection::send_file(int fd, uint64_t offset, uint64_t length) {
  auto& sock = socket_;
  if (!native_non_blocking_) {
    error_code ec;
    sock.native_non_blocking(true, ec);
    if (ec) co_return false;
    native_non_blocking_ = true;
  }
  off_t off = static_cast<off_t>(offset);
  uint64_t left = length;
  while (left > 0) {
    if (closed_) co_return false;
    arm();
    auto n = ::sendfile(sock.native_handle(), fd, &off, left);
    if (n > 0) {
      left -= static_cast<uint64_t>(n);
      continue;
    }
    if (n == 0) co_return false;  // the file is shorter than the index says
    if (errno == EINTR) continue;
    if (errno != EAGAIN) co_return false;
    auto [wec] = co_await sock.async_wait(tcp::socket::wait_write, use_nothrow);
    if (wec) co_return false;
  }
  co_return true;
}

}  // namespace postern::net
