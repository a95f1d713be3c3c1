#include "net/tls.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

namespace postern::net {

namespace {
std::string openssl_reason() {
  unsigned long e = ERR_get_error();
  if (!e) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}
}  // namespace

// TLS 1.2 suites of the intermediate profile: forward secrecy and AEAD only,
// so no CBC (LUCKY13) and no static RSA key exchange.
constexpr const char* intermediate_tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

base::result<std::shared_ptr<asio::ssl::context>> make_server_tls(const std::string& certificate,
                                                                  const std::string& key,
                                                                  tls_profile profile) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native,
                                profile == tls_profile::modern ? TLS1_3_VERSION : TLS1_2_VERSION);
  if (SSL_CTX_set_cipher_list(native, intermediate_tls12_ciphers) != 1)
    return base::error{
        base::errc::invalid_argument,
        fmt::format("[tls] profile: OpenSSL refused the cipher list: {}", openssl_reason()), ""};
  SSL_CTX_set_options(
      native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Sessions are short; a cache lets reconnecting clients resume cheaply.
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_SERVER);
  if (SSL_CTX_use_certificate_chain_file(native, certificate.c_str()) != 1)
    return base::error{
        base::errc::invalid_argument,
        fmt::format("[tls] certificate = \"{}\": cannot load: {}", certificate, openssl_reason()),
        ""};
  if (SSL_CTX_use_PrivateKey_file(native, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    auto reason = openssl_reason();
    if (reason.find("mismatch") != std::string::npos)
      return base::error{base::errc::invalid_argument,
                         fmt::format("[tls] key = \"{}\" does not match certificate \"{}\" ({})",
                                     key, certificate, reason),
                         ""};
    return base::error{base::errc::invalid_argument,
                       fmt::format("[tls] key = \"{}\": cannot load: {}", key, reason), ""};
  }
  if (SSL_CTX_check_private_key(native) != 1)
    return base::error{base::errc::invalid_argument,
                       fmt::format("[tls] key = \"{}\" does not match certificate \"{}\": {}", key,
                                   certificate, openssl_reason()),
                       ""};
  return ctx;
}

base::status tls_source::reload() {
  auto fresh = make_server_tls(certificate_, key_, profile_);
  if (!fresh) return fresh.err();
  std::lock_guard lock(mu_);
  current_ = std::move(*fresh);
  return base::ok_status();
}

}  // namespace postern::net
