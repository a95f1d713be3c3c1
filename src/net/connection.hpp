// One client connection: plain or TLS (implicit or after STARTTLS), a
// size-capped line reader, buffered writes, zero-copy file sending, and a
// watchdog that closes the connection when an operation outlives its timeout.
//
// Threads: a connection belongs to one io_context (one thread); use it only
// from coroutines running there. Ownership: shared_ptr, kept alive by the
// session coroutine and the watchdog.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/asio.hpp"

namespace postern::net {

enum class read_status { ok, too_long, closed, timed_out, error };

class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(tcp::socket socket, std::shared_ptr<asio::ssl::context> tls, size_t buffer_size);
  ~connection();

  // Starts the watchdog; call once before any I/O.
  void start();
  // Server-side TLS handshake (implicit TLS at accept, or after STLS/STARTTLS).
  // Drops any bytes the client sent before the handshake (RFC 3207 §4.2 / CVE-2011-0411).
  awaitable<bool> start_tls();
  bool tls_active() const { return tls_active_; }
  bool tls_available() const { return tls_ctx_ != nullptr; }
  const std::string& remote_ip() const { return remote_ip_; }
  uint16_t local_port() const { return local_port_; }

  // Each later read or write must finish within `d` of its start.
  void set_timeout(std::chrono::steady_clock::duration d);
  bool timed_out() const { return timed_out_; }

  // Reads one line (LF-terminated; the CR LF or LF is stripped). A line longer
  // than max_size bytes (terminator included) is discarded up to its LF and
  // reported as too_long.
  awaitable<read_status> read_line(std::string& line, size_t max_size);
  // True when a whole line is already buffered: the client pipelined, so the
  // caller may hold its responses and flush them together.
  bool has_buffered_line() const;
  // Returns buffered bytes or reads more; `chunk` is valid until the next read.
  awaitable<read_status> read_some(std::string_view& chunk);
  // Puts back the tail of a chunk from read_some that belongs to the next command.
  void unread(size_t n) { in_begin_ -= n; }

  // `more`: the caller sends more right after (a file follows a header), so
  // the kernel may hold a partial segment instead of pushing it (MSG_MORE).
  awaitable<bool> write(std::string_view data, bool more = false);
  // Sends a file range without copying it through user space (plaintext only).
  awaitable<bool> send_file(int fd, uint64_t offset, uint64_t length);

  void close();

 private:
  awaitable<void> watchdog();
  awaitable<read_status> fill();
  void arm() { deadline_ = std::chrono::steady_clock::now() + timeout_; }

  tcp::socket socket_;
  // Created only on the TLS handshake, so a plaintext session carries no SSL state.
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls_;
  std::shared_ptr<asio::ssl::context> tls_ctx_;
  asio::steady_timer timer_;
  std::chrono::steady_clock::duration timeout_ = std::chrono::seconds(60);
  std::chrono::steady_clock::time_point deadline_;
  std::vector<char> in_;
  size_t in_begin_ = 0, in_end_ = 0;
  std::string remote_ip_;
  uint16_t local_port_ = 0;
  bool tls_active_ = false;
  bool timed_out_ = false;
  bool closed_ = false;
  bool native_non_blocking_ = false;  // set once, on the first send_file
};

}  // namespace postern::net
