// A client connection that starts as plain TCP and can switch to TLS, either
// at once (implicit TLS, POP3S) or after STLS/STARTTLS, with a buffered reader
// for the line-oriented mail protocols.
//
// Not thread-safe: one connection belongs to one coroutine on one io_context.
// Every awaitable throws boost::system::system_error on I/O failure and
// loadgen::protocol_error when the peer breaks the protocol or closes early.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace loadgen {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct protocol_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class connection {
 public:
  connection(asio::any_io_executor ex, asio::ssl::context& tls);

  asio::awaitable<void> connect(const std::string& host, std::uint16_t port);
  // TLS client handshake on the already connected socket; from now on all
  // reads and writes are encrypted.
  asio::awaitable<void> start_tls(const std::string& server_name);
  bool is_tls() const { return tls_; }
  std::string tls_version();
  std::string tls_cipher();

  // One line without its CRLF (a bare LF is accepted). The view is valid until
  // the next read. Lines longer than the buffer are a protocol_error.
  asio::awaitable<std::string_view> read_line();
  // The body of a multi-line response (RFC 1939 §3): everything after the
  // status line up to and including the CRLF before the terminating ".".
  // Returns the body's octets as received (still dot-stuffed), discarding
  // them as it goes so that a large body costs no memory.
  asio::awaitable<std::uint64_t> read_multiline();
  // Exactly n octets (an IMAP literal, RFC 9051 §4.3), discarded as they
  // arrive so that a large one costs no memory.
  asio::awaitable<void> discard(std::uint64_t n);
  // Raw bytes, for the byte-stream modes: returns 0 at end of stream.
  asio::awaitable<std::size_t> read_some_discard();

  asio::awaitable<void> write(std::string_view data);
  asio::awaitable<void> write(std::string_view a, std::string_view b);

  // Best effort: TLS close_notify is not awaited, the socket is shut down.
  void close();
  std::uint64_t bytes_received() const { return received_; }

 private:
  asio::awaitable<std::size_t> fill();  // appends to buf_, compacting first
  std::size_t buffered() const { return end_ - begin_; }

  asio::ssl::stream<tcp::socket> stream_;
  bool tls_ = false;
  std::vector<char> buf_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::uint64_t received_ = 0;
};

}  // namespace loadgen
