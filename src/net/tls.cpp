#include "net/tls.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

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
  // Resumed sessions must be told apart from other contexts' (SNI switches
  // contexts; client certificates need it).
  static constexpr unsigned char session_context[] = "postern";
  SSL_CTX_set_session_id_context(native, session_context, sizeof session_context - 1);
  return ctx;
}

namespace {

// The SNI contexts of a listener's context, freed with it (ex_data).
struct sni_table {
  std::vector<SSL_CTX*> contexts;
  ~sni_table() {
    for (auto* c : contexts) SSL_CTX_free(c);
  }
};

void free_sni_table(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<sni_table*>(ptr);
}

int sni_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_sni_table);
  return index;
}

// RFC 6066 §3: the first SNI certificate that covers the name the client
// asked for; none: the listener's own.
int choose_certificate(SSL* ssl, int*, void* arg) {
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!name) return SSL_TLSEXT_ERR_OK;
  for (auto* c : static_cast<sni_table*>(arg)->contexts) {
    X509* x = SSL_CTX_get0_certificate(c);
    if (x && X509_check_host(x, name, 0, 0, nullptr) == 1) {
      SSL_set_SSL_CTX(ssl, c);
      break;
    }
  }
  return SSL_TLSEXT_ERR_OK;
}

// Records the verification result instead of ending the handshake: the
// listener says why an unverified client certificate is not enough.
int accept_any_client_certificate(int, X509_STORE_CTX*) { return 1; }

}  // namespace

base::result<std::shared_ptr<asio::ssl::context>> make_server_tls(const std::string& certificate,
                                                                  const std::string& key,
                                                                  const tls_options& options) {
  auto ctx = make_server_tls(certificate, key, options.profile);
  if (!ctx) return ctx;
  SSL_CTX* native = (*ctx)->native_handle();
  if (!options.sni.empty()) {
    auto* table = new sni_table;
    SSL_CTX_set_ex_data(native, sni_index(), table);
    for (auto& [cert, k] : options.sni) {
      auto alt = make_server_tls(cert, k, options.profile);
      if (!alt)
        return base::error{alt.err().code, fmt::format("[[tls.sni]]: {}", alt.err().message),
                           alt.err().detail};
      if (!options.client_ca.empty())
        SSL_CTX_load_verify_locations((*alt)->native_handle(), options.client_ca.c_str(), nullptr);
      SSL_CTX_up_ref((*alt)->native_handle());
      table->contexts.push_back((*alt)->native_handle());
    }
    SSL_CTX_set_tlsext_servername_callback(native, choose_certificate);
    SSL_CTX_set_tlsext_servername_arg(native, table);
  }
  if (!options.client_ca.empty()) {
    if (SSL_CTX_load_verify_locations(native, options.client_ca.c_str(), nullptr) != 1)
      return base::error{
          base::errc::invalid_argument,
          fmt::format("client_ca = \"{}\": cannot load: {}", options.client_ca, openssl_reason()),
          ""};
    if (auto* names = SSL_load_client_CA_file(options.client_ca.c_str()))
      SSL_CTX_set_client_CA_list(native, names);
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER, accept_any_client_certificate);
  }
  return ctx;
}

std::vector<X509*> sni_certificates(const asio::ssl::context& ctx) {
  std::vector<X509*> out;
  auto* table = static_cast<sni_table*>(
      SSL_CTX_get_ex_data(const_cast<asio::ssl::context&>(ctx).native_handle(), sni_index()));
  if (table)
    for (auto* c : table->contexts)
      if (auto* x = SSL_CTX_get0_certificate(c)) out.push_back(x);
  return out;
}

base::status tls_source::reload() {
  auto fresh = make_server_tls(certificate_, key_, options_);
  if (!fresh) return fresh.err();
  std::lock_guard lock(mu_);
  current_ = std::move(*fresh);
  return base::ok_status();
}

}  // namespace postern::net
