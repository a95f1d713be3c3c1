#include "connection.hpp"

#include <algorithm>
#include <cstring>

#include "multiline.hpp"

namespace loadgen {

namespace {
constexpr std::size_t buffer_size = 256 * 1024;
}  // namespace

connection::connection(asio::any_io_executor ex, asio::ssl::context& tls)
    : stream_(tcp::socket(ex), tls), buf_(buffer_size) {}

asio::awaitable<void> connection::connect(const std::string& host, std::uint16_t port) {
  auto& sock = stream_.next_layer();
  co_await sock.async_connect(tcp::endpoint(asio::ip::make_address(host), port),
                              asio::use_awaitable);
  sock.set_option(tcp::no_delay(true));
}

asio::awaitable<void> connection::start_tls(const std::string& server_name) {
  if (buffered() != 0) {
    // RFC 2595 §4 / RFC 3207 §4.2: nothing may follow the STLS reply in plain text.
    throw protocol_error("plain-text bytes buffered before the TLS handshake");
  }
  SSL_set_tlsext_host_name(stream_.native_handle(), server_name.c_str());
  co_await stream_.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
  tls_ = true;
}

std::string connection::tls_version() {
  return tls_ ? SSL_get_version(stream_.native_handle()) : "";
}

std::string connection::tls_cipher() {
  return tls_ ? SSL_get_cipher_name(stream_.native_handle()) : "";
}

asio::awaitable<std::size_t> connection::fill() {
  if (begin_ == end_) {
    begin_ = end_ = 0;
  } else if (begin_ > 0 && (end_ == buf_.size() || begin_ > buf_.size() / 2)) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == buf_.size()) throw protocol_error("line longer than the read buffer");
  auto space = asio::buffer(buf_.data() + end_, buf_.size() - end_);
  auto [ec, n] = tls_ ? co_await stream_.async_read_some(space, asio::as_tuple(asio::use_awaitable))
                      : co_await stream_.next_layer().async_read_some(
                            space, asio::as_tuple(asio::use_awaitable));
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) co_return 0;
  if (ec) throw boost::system::system_error(ec);
  end_ += n;
  received_ += n;
  co_return n;
}

asio::awaitable<std::string_view> connection::read_line() {
  std::size_t scanned = 0;
  for (;;) {
    const char* base = buf_.data() + begin_;
    if (const void* lf = std::memchr(base + scanned, '\n', buffered() - scanned)) {
      std::size_t len = static_cast<const char*>(lf) - base;
      begin_ += len + 1;
      if (len > 0 && base[len - 1] == '\r') --len;
      co_return std::string_view(base, len);
    }
    scanned = buffered();
    if (co_await fill() == 0) throw protocol_error("connection closed by the server");
  }
}

asio::awaitable<std::uint64_t> connection::read_multiline() {
  multiline_scanner scanner;  // the status line's CRLF has been consumed
  for (;;) {
    const auto [consumed, done] = scanner.scan({buf_.data() + begin_, buffered()});
    begin_ += consumed;
    if (done) co_return scanner.body_octets();
    if (co_await fill() == 0) {
      throw protocol_error("connection closed inside a multi-line response");
    }
  }
}

asio::awaitable<void> connection::discard(std::uint64_t n) {
  while (n > 0) {
    if (buffered() == 0 && co_await fill() == 0) {
      throw protocol_error("connection closed inside a literal");
    }
    const auto take = std::min<std::uint64_t>(n, buffered());
    begin_ += take;
    n -= take;
  }
}

asio::awaitable<std::size_t> connection::read_some_discard() {
  if (buffered() != 0) {
    const std::size_t n = buffered();
    begin_ = end_ = 0;
    co_return n;
  }
  const std::size_t n = co_await fill();
  begin_ = end_ = 0;
  co_return n;
}

asio::awaitable<void> connection::write(std::string_view data) {
  if (tls_) {
    co_await asio::async_write(stream_, asio::buffer(data), asio::use_awaitable);
  } else {
    co_await asio::async_write(stream_.next_layer(), asio::buffer(data), asio::use_awaitable);
  }
}

asio::awaitable<void> connection::write(std::string_view a, std::string_view b) {
  const std::array<asio::const_buffer, 2> bufs{asio::buffer(a), asio::buffer(b)};
  if (tls_) {
    co_await asio::async_write(stream_, bufs, asio::use_awaitable);
  } else {
    co_await asio::async_write(stream_.next_layer(), bufs, asio::use_awaitable);
  }
}

void connection::close() {
  boost::system::error_code ec;
  stream_.next_layer().shutdown(tcp::socket::shutdown_both, ec);
  stream_.next_layer().close(ec);
}

}  // namespace loadgen
