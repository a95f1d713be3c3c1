#include "net/tls_stream.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace postern::net {

namespace {
std::string openssl_reason(unsigned long e) {
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}
// A socket BIO that sends with MSG_NOSIGNAL: OpenSSL's own writes with
// write(2), which raises SIGPIPE when the client has gone, and a library
// must not depend on the process ignoring it. The fd is the BIO's data.
int bio_fd(BIO* b) { return static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(b))); }

int bio_write(BIO* b, const char* data, size_t len, size_t* written) {
  BIO_clear_retry_flags(b);
  for (;;) {
    auto n = ::send(bio_fd(b), data, len, MSG_NOSIGNAL);
    if (n >= 0) {
      *written = static_cast<size_t>(n);
      return 1;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_write(b);
    return 0;
  }
}

int bio_read(BIO* b, char* data, size_t len, size_t* got) {
  BIO_clear_retry_flags(b);
  for (;;) {
    auto n = ::recv(bio_fd(b), data, len, 0);
    if (n > 0) {
      *got = static_cast<size_t>(n);
      return 1;
    }
    if (n == 0) {
      BIO_set_flags(b, BIO_FLAGS_IN_EOF);  // lets OpenSSL tell EOF from an error
      return 0;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_read(b);
    return 0;
  }
}

long bio_ctrl(BIO* b, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;  // nothing is buffered
    case BIO_CTRL_EOF:
      return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0;
    default:
      return 0;
  }
}

BIO_METHOD* nosignal_socket_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "postern socket");
    BIO_meth_set_write_ex(m, bio_write);
    BIO_meth_set_read_ex(m, bio_read);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, [](BIO* b) {
      BIO_set_init(b, 1);
      return 1;
    });
    return m;
  }();
  return method;
}
}  // namespace

tls_stream::tls_stream(tcp::socket& socket, ssl_ctx_st* ctx) : socket_(socket) {
  ssl_ = SSL_new(ctx);
  if (!ssl_) return;
  // Record buffers are freed whenever none is partly used: idle sessions keep
  // none. Partial writes let write_all() hand OpenSSL a moving buffer.
  SSL_set_mode(ssl_, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                         SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  BIO* bio = BIO_new(nosignal_socket_method());
  if (!bio) {
    SSL_free(ssl_);
    ssl_ = nullptr;
    return;
  }
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<intptr_t>(socket_.native_handle())));
  SSL_set_bio(ssl_, bio, bio);  // the SSL owns it
  SSL_set_accept_state(ssl_);
}

tls_stream::~tls_stream() {
  if (ssl_) SSL_free(ssl_);
}

tls_stream::next tls_stream::classify(int rc, error_code& ec) {
  int err = SSL_get_error(ssl_, rc);
  switch (err) {
    case SSL_ERROR_WANT_READ:
      return next::retry_after_read;
    case SSL_ERROR_WANT_WRITE:
      return next::retry_after_write;
    case SSL_ERROR_ZERO_RETURN:  // close_notify
      ec = asio::error::eof;
      return next::failed;
    case SSL_ERROR_SYSCALL: {
      // errno 0: the peer closed without close_notify (a truncated stream,
      // which every session treats as the client going away).
      int e = errno;
      unsigned long q = ERR_get_error();
      if (q) failure_ = openssl_reason(q);
      ec = e == ECONNRESET || e == EPIPE ? error_code(asio::error::connection_reset)
                                         : error_code(asio::error::eof);
      if (failure_.empty()) failure_ = e ? std::strerror(e) : "the client closed the connection";
      return next::failed;
    }
    default: {
      unsigned long q = ERR_get_error();
      failure_ = q ? openssl_reason(q) : "TLS protocol error";
      // OpenSSL 3 reports a peer gone without close_notify as an error; every
      // protocol here frames its own messages, so it is the client leaving.
      bool truncated = ERR_GET_REASON(q) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
      ec = truncated ? error_code(asio::error::eof) : error_code(asio::error::invalid_argument);
      return next::failed;
    }
  }
}

awaitable<error_code> tls_stream::handshake() {
  if (!ssl_) {
    failure_ = "out of memory for TLS";
    co_return asio::error::no_memory;
  }
  error_code ec;
  if (!socket_.native_non_blocking()) socket_.native_non_blocking(true, ec);
  if (ec) co_return ec;
  for (;;) {
    ERR_clear_error();
    int rc = SSL_do_handshake(ssl_);
    if (rc == 1) co_return error_code{};
    auto what = classify(rc, ec);
    if (what == next::failed) co_return ec;
    auto wait = what == next::retry_after_read ? tcp::socket::wait_read : tcp::socket::wait_write;
    auto [wec] = co_await socket_.async_wait(wait, use_nothrow);
    if (wec) co_return wec;
  }
}

awaitable<std::tuple<error_code, size_t>> tls_stream::read_some(char* buf, size_t size) {
  for (;;) {
    ERR_clear_error();
    size_t n = 0;
    int rc = SSL_read_ex(ssl_, buf, size, &n);
    if (rc == 1) co_return std::tuple{error_code{}, n};
    error_code ec;
    auto what = classify(rc, ec);
    if (what == next::failed) co_return std::tuple{ec, size_t{0}};
    auto wait = what == next::retry_after_read ? tcp::socket::wait_read : tcp::socket::wait_write;
    auto [wec] = co_await socket_.async_wait(wait, use_nothrow);
    if (wec) co_return std::tuple{wec, size_t{0}};
  }
}

awaitable<error_code> tls_stream::write_all(std::string_view data) {
  while (!data.empty()) {
    ERR_clear_error();
    size_t n = 0;
    int rc = SSL_write_ex(ssl_, data.data(), data.size(), &n);
    if (rc == 1) {
      data.remove_prefix(n);
      continue;
    }
    error_code ec;
    auto what = classify(rc, ec);
    if (what == next::failed) co_return ec;
    auto wait = what == next::retry_after_read ? tcp::socket::wait_read : tcp::socket::wait_write;
    auto [wec] = co_await socket_.async_wait(wait, use_nothrow);
    if (wec) co_return wec;
  }
  co_return error_code{};
}

std::string tls_stream::version() const { return ssl_ ? SSL_get_version(ssl_) : ""; }

std::string tls_stream::peer_subject(bool& verified) const {
  verified = false;
  if (!ssl_) return {};
  X509* peer = SSL_get1_peer_certificate(ssl_);
  if (!peer) return {};
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(peer), buf, sizeof buf);
  X509_free(peer);
  verified = SSL_get_verify_result(ssl_) == X509_V_OK;
  return buf;
}

std::string tls_stream::cipher() const {
  const char* c = ssl_ ? SSL_get_cipher_name(ssl_) : nullptr;
  return c ? c : "";
}

}  // namespace postern::net
