// net::connection over TLS (net::tls_stream) on real loopback sockets, with
// a blocking OpenSSL client: a line split over several records is read
// whole through a small buffer, an IMAP IDLE update is written while a read
// waits, and a client that vanishes without close_notify reads as closed.
#include "net/tls_stream.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <thread>

#include "net/connection.hpp"

namespace postern::net {

namespace {

// A server context with a fresh self-signed P-256 certificate.
std::shared_ptr<asio::ssl::context> test_context() {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_sign(cert, key, EVP_sha256());
  SSL_CTX_use_certificate(ctx->native_handle(), cert);
  SSL_CTX_use_PrivateKey(ctx->native_handle(), key);
  X509_free(cert);
  EVP_PKEY_free(key);
  return ctx;
}

// The client's end: a blocking TLS connection on `fd`.
struct tls_client {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = nullptr;
  explicit tls_client(int fd) {
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
  }
  ~tls_client() {
    SSL_free(ssl);
    SSL_CTX_free(ctx);
  }
  bool connect() { return SSL_connect(ssl) == 1; }
  void send(std::string_view s) { SSL_write(ssl, s.data(), static_cast<int>(s.size())); }
  std::string read_line() {
    std::string line;
    char c;
    while (SSL_read(ssl, &c, 1) == 1) {
      line += c;
      if (c == '\n') break;
    }
    return line;
  }
};

// A blocking TCP connection to 127.0.0.1:port, or -1.
int connect_loopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return fd;
  ::close(fd);
  return -1;
}

// Runs `server` on a connection accepted from a TLS client running `client`
// on its own thread; the server side handshakes first.
void over_tls(const std::function<awaitable<void>(std::shared_ptr<connection>)>& server,
              const std::function<void(tls_client&, int fd)>& client, bool& handshook) {
  asio::io_context io(1);
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto port = acceptor.local_endpoint().port();
  std::thread peer([&] {
    int fd = connect_loopback(port);
    if (fd >= 0) {
      tls_client c(fd);
      if (c.connect()) client(c, fd);
    }
    ::close(fd);
  });
  tcp::socket s(io);
  acceptor.accept(s);
  auto conn = std::make_shared<connection>(std::move(s), test_context());
  asio::co_spawn(
      io,
      [&, conn]() -> awaitable<void> {
        conn->start();
        handshook = co_await conn->start_tls();
        if (handshook) co_await server(conn);
        conn->close();
      },
      asio::detached);
  io.run();
  peer.join();
}

}  // namespace

TEST(TlsStream, ALineInSeveralRecordsIsReadWholeAndAnswered) {
  bool handshook = false;
  std::string got, reply;
  over_tls(
      [&](std::shared_ptr<connection> c) -> awaitable<void> {
        EXPECT_TRUE(c->tls_active());
        // Longer than the idle buffer: the rest of a record stays in OpenSSL
        // and must be read before waiting on the socket again.
        std::string line;
        auto st = co_await c->read_line(line, 64 * 1024);
        EXPECT_EQ(st, read_status::ok);
        got = line;
        co_await c->write("a OK " + std::to_string(line.size()) + "\r\n");
      },
      [&](tls_client& c, int) {
        std::string big(5000, 'x');
        c.send("a NOOP ");
        c.send(big);
        c.send("\r\n");
        reply = c.read_line();
      },
      handshook);
  ASSERT_TRUE(handshook);
  EXPECT_EQ(got, "a NOOP " + std::string(5000, 'x'));
  EXPECT_EQ(reply, "a OK 5007\r\n");
}

TEST(TlsStream, AWriteWhileAReadWaitsReachesTheClient) {
  bool handshook = false;
  std::string done, update;
  over_tls(
      [&](std::shared_ptr<connection> c) -> awaitable<void> {
        // IMAP IDLE: the session waits for DONE while it sends an update.
        asio::steady_timer t(co_await asio::this_coro::executor);
        t.expires_after(std::chrono::milliseconds(50));
        asio::co_spawn(
            c->executor(),
            [&t, c]() -> awaitable<void> {
              co_await t.async_wait(use_nothrow);
              co_await c->write_beside_read("* 1 EXISTS\r\n");
            },
            asio::detached);
        std::string line;
        auto st = co_await c->read_line(line, 1024);
        EXPECT_EQ(st, read_status::ok);
        done = line;
      },
      [&](tls_client& c, int) {
        update = c.read_line();
        c.send("DONE\r\n");
      },
      handshook);
  ASSERT_TRUE(handshook);
  EXPECT_EQ(update, "* 1 EXISTS\r\n");
  EXPECT_EQ(done, "DONE");
}

TEST(TlsStream, AClientGoneWithoutCloseNotifyReadsAsClosed) {
  bool handshook = false;
  read_status st = read_status::ok;
  over_tls(
      [&](std::shared_ptr<connection> c) -> awaitable<void> {
        std::string line;
        st = co_await c->read_line(line, 1024);
      },
      [](tls_client&, int fd) { ::shutdown(fd, SHUT_RDWR); }, handshook);
  ASSERT_TRUE(handshook);
  EXPECT_EQ(st, read_status::closed);
}

TEST(TlsStream, APlaintextClientFailsTheHandshakeWithAReason) {
  asio::io_context io(1);
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto port = acceptor.local_endpoint().port();
  std::thread peer([&] {
    int fd = connect_loopback(port);
    if (fd >= 0) {
      const char junk[] = "a LOGIN joe secret\r\n";
      ::send(fd, junk, sizeof junk - 1, MSG_NOSIGNAL);
      char buf[256];
      while (::recv(fd, buf, sizeof buf, 0) > 0) {
      }
    }
    ::close(fd);
  });
  tcp::socket s(io);
  acceptor.accept(s);
  auto conn = std::make_shared<connection>(std::move(s), test_context());
  bool ok = true;
  asio::co_spawn(
      io,
      [&, conn]() -> awaitable<void> {
        conn->start();
        ok = co_await conn->start_tls();
        conn->close();
      },
      asio::detached);
  io.run();
  peer.join();
  EXPECT_FALSE(ok);
  EXPECT_FALSE(conn->tls_failure().empty());
  EXPECT_EQ(conn->tls_failure().find("Success"), std::string::npos);
}

}  // namespace postern::net
