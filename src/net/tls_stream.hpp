// Server-side TLS straight on a connection's socket: OpenSSL reads and writes
// the (non-blocking) file descriptor itself, and the stream waits for
// readiness through Asio when OpenSSL asks (SSL_ERROR_WANT_READ/WRITE).
//
// Why not asio::ssl::stream: it keeps two 17 KiB record buffers per
// connection and a BIO pair with two more, so an idle TLS session (IMAP IDLE)
// cost about 88 KiB. Here the only buffers are OpenSSL's own, released while
// the connection is idle (SSL_MODE_RELEASE_BUFFERS): an idle session holds
// the SSL object and its keys.
//
// Threads: like the connection, one io_context thread. One read and one
// write may be in progress at once (IMAP IDLE writes while a read waits);
// never two of a kind. Errors: asio codes (eof for a closed or truncated
// stream); failure() says what OpenSSL reported, for the log.
#pragma once

#include <string>
#include <string_view>
#include <tuple>

#include "net/asio.hpp"

// OpenSSL's SSL and SSL_CTX, without its headers.
struct ssl_st;
struct ssl_ctx_st;

namespace postern::net {

class tls_stream {
 public:
  // Takes no ownership of `socket`, which must outlive the stream.
  tls_stream(tcp::socket& socket, ssl_ctx_st* ctx);
  ~tls_stream();
  tls_stream(const tls_stream&) = delete;
  tls_stream& operator=(const tls_stream&) = delete;

  awaitable<error_code> handshake();
  // Some decrypted bytes into `buf` (at least one), or an error.
  awaitable<std::tuple<error_code, size_t>> read_some(char* buf, size_t size);
  // All of `data`, or an error.
  awaitable<error_code> write_all(std::string_view data);

  const std::string& failure() const { return failure_; }
  // "TLSv1.3", and the cipher suite's name (for logs and session lists).
  std::string version() const;
  std::string cipher() const;
  // The client certificate's subject ("/CN=ops"), and whether it chains to
  // the listener's client_ca; empty when the client sent none.
  std::string peer_subject(bool& verified) const;

 private:
  // What to do after an SSL call returned `rc`: wait (and retry), or stop.
  enum class next { retry_after_read, retry_after_write, failed };
  next classify(int rc, error_code& ec);

  tcp::socket& socket_;
  ssl_st* ssl_ = nullptr;
  std::string failure_;
};

}  // namespace postern::net
