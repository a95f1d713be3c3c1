#include "admin/probe_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

namespace postern::admin {

namespace {

std::string openssl_reason() {
  auto e = ERR_get_error();
  if (!e) return "the connection closed during the handshake";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

std::string name_of(X509_NAME* n) {
  if (!n) return "?";
  char buf[512];
  X509_NAME_oneline(n, buf, sizeof buf);
  return buf;
}

void set_timeouts(int fd, std::chrono::milliseconds t) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(t.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

}  // namespace

certificate_dates dates_of(X509* cert) {
  certificate_dates d;
  tm t{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &t) == 1) {
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &t);
    d.not_after = buf;
  }
  int days = 0, secs = 0;
  if (ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(cert)) == 1)
    d.days_left = days - (secs < 0 ? 1 : 0);
  d.self_signed = X509_check_issued(cert, cert) == X509_V_OK;
  return d;
}

probe_client::~probe_client() { close(); }

base::error probe_client::failed(std::string what) const {
  return base::error{base::errc::unavailable, std::move(what), ""};
}

void probe_client::abort() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

void probe_client::close() {
  if (ssl_) {
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
  if (ctx_) {
    SSL_CTX_free(ctx_);
    ctx_ = nullptr;
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  buffer_.clear();
}

base::result<std::vector<std::string>> probe_client::resolve(const std::string& host) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0)
    return base::error{base::errc::not_found,
                       fmt::format("cannot resolve {}: {}", host, ::gai_strerror(rc)), ""};
  std::vector<std::string> out;
  for (auto* a = res; a; a = a->ai_next) {
    char buf[INET6_ADDRSTRLEN] = {};
    void* addr = a->ai_family == AF_INET
                     ? static_cast<void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
                     : static_cast<void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
    if (::inet_ntop(a->ai_family, addr, buf, sizeof buf)) {
      std::string ip(buf);
      if (std::find(out.begin(), out.end(), ip) == out.end()) out.push_back(ip);
    }
  }
  ::freeaddrinfo(res);
  return out;
}

base::status probe_client::connect(const std::string& ip, uint16_t port,
                                   std::chrono::milliseconds timeout) {
  close();
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof *v4;
  } else if (::inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof *v6;
  } else {
    return failed(fmt::format("'{}' is not an IP address", ip));
  }
  fd_ = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) return failed(fmt::format("socket: {}", std::strerror(errno)));
  int rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&ss), len);
  if (rc != 0 && errno != EINPROGRESS) {
    auto why = std::strerror(errno);
    close();
    return failed(fmt::format("connecting to {} port {}: {}", ip, port, why));
  }
  if (rc != 0) {
    pollfd p{fd_, POLLOUT, 0};
    rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
    int err = 0;
    socklen_t el = sizeof err;
    if (rc == 1) ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &el);
    if (rc != 1 || err != 0) {
      auto why = rc == 0 ? std::string("no answer within the timeout") : std::strerror(err);
      close();
      return failed(fmt::format("connecting to {} port {}: {}", ip, port, why));
    }
  }
  int flags = ::fcntl(fd_, F_GETFL);
  ::fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK);
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeout_ = timeout;
  return base::ok_status();
}

base::status probe_client::start_tls(const std::string& host, const std::string& ca_file) {
  if (fd_ < 0) return failed("not connected");
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (!ctx_) return failed("OpenSSL could not make a TLS context: " + openssl_reason());
  SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
  SSL_CTX_set_default_verify_paths(ctx_);
  if (!ca_file.empty() && SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr) != 1)
    return failed(fmt::format("cannot load --ca-file {}: {}", ca_file, openssl_reason()));
  // The chain is judged below and reported, not refused here, so the tester
  // can say what is wrong with it.
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
  ssl_ = SSL_new(ctx_);
  SSL_set_fd(ssl_, fd_);
  in6_addr a6{};
  in_addr a4{};
  bool is_ip =
      ::inet_pton(AF_INET, host.c_str(), &a4) == 1 || ::inet_pton(AF_INET6, host.c_str(), &a6) == 1;
  if (!is_ip) SSL_set_tlsext_host_name(ssl_, host.c_str());
  set_timeouts(fd_, timeout_);
  if (SSL_connect(ssl_) != 1) {
    auto why = openssl_reason();
    SSL_free(ssl_);
    ssl_ = nullptr;
    return failed("TLS handshake failed: " + why);
  }
  facts_ = {};
  facts_.version = SSL_get_version(ssl_);
  facts_.cipher = SSL_get_cipher_name(ssl_);
  X509* leaf = SSL_get1_peer_certificate(ssl_);
  if (leaf) {
    auto* chain = SSL_get_peer_cert_chain(ssl_);
    int n = chain ? sk_X509_num(chain) : 0;
    for (int i = 0; i < n; ++i) {
      X509* c = sk_X509_value(chain, i);
      facts_.chain.push_back(fmt::format("{} (issuer {})", name_of(X509_get_subject_name(c)),
                                         name_of(X509_get_issuer_name(c))));
    }
    if (facts_.chain.empty())
      facts_.chain.push_back(fmt::format("{} (issuer {})", name_of(X509_get_subject_name(leaf)),
                                         name_of(X509_get_issuer_name(leaf))));
    auto dates = dates_of(leaf);
    facts_.not_after = dates.not_after;
    facts_.days_left = dates.days_left;
    facts_.self_signed = dates.self_signed;
    facts_.name_matches = is_ip ? X509_check_ip_asc(leaf, host.c_str(), 0) == 1
                                : X509_check_host(leaf, host.c_str(), host.size(), 0, nullptr) == 1;
    X509_free(leaf);
  }
  long v = SSL_get_verify_result(ssl_);
  if (v != X509_V_OK) facts_.verify_error = X509_verify_cert_error_string(v);
  buffer_.clear();  // nothing sent in plaintext counts after the handshake
  return base::ok_status();
}

base::status probe_client::send(std::string_view data) {
  if (fd_ < 0) return failed("not connected");
  set_timeouts(fd_, timeout_);
  while (!data.empty()) {
    ssize_t n = ssl_ ? SSL_write(ssl_, data.data(), static_cast<int>(data.size()))
                     : ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0)
      return failed(ssl_ ? "TLS write failed: " + openssl_reason()
                         : fmt::format("send: {}", std::strerror(errno)));
    data.remove_prefix(static_cast<size_t>(n));
  }
  return base::ok_status();
}

base::result<size_t> probe_client::read_some(char* buf, size_t n) {
  set_timeouts(fd_, timeout_);
  ssize_t got = ssl_ ? SSL_read(ssl_, buf, static_cast<int>(n)) : ::recv(fd_, buf, n, 0);
  if (got > 0) return static_cast<size_t>(got);
  if (got == 0 || (ssl_ && SSL_get_error(ssl_, static_cast<int>(got)) == SSL_ERROR_ZERO_RETURN))
    return failed("the server closed the connection");
  if (errno == EAGAIN || errno == EWOULDBLOCK)
    return failed(fmt::format("no answer within {} s", timeout_.count() / 1000));
  return failed(ssl_ ? "TLS read failed: " + openssl_reason()
                     : fmt::format("recv: {}", std::strerror(errno)));
}

base::result<std::string> probe_client::read_line() {
  for (;;) {
    auto eol = buffer_.find('\n');
    if (eol != std::string::npos) {
      std::string line = buffer_.substr(0, eol);
      buffer_.erase(0, eol + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return line;
    }
    if (buffer_.size() > 64 * 1024) return failed("a line over 64 KiB");
    char buf[16384];
    auto n = read_some(buf, sizeof buf);
    if (!n) return n.err();
    buffer_.append(buf, *n);
  }
}

base::result<std::string> probe_client::read_bytes(size_t n) {
  if (n > 64u * 1024 * 1024) return failed("a literal over 64 MiB");
  while (buffer_.size() < n) {
    char buf[65536];
    auto got = read_some(buf, sizeof buf);
    if (!got) return got.err();
    buffer_.append(buf, *got);
  }
  std::string out = buffer_.substr(0, n);
  buffer_.erase(0, n);
  return out;
}

}  // namespace postern::admin
