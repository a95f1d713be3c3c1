// Server TLS contexts built from the configured certificate and key.
#pragma once

#include <memory>
#include <string>

#include "base/error.hpp"
#include "net/asio.hpp"

namespace postern::net {

// Mozilla's server-side TLS profiles: "intermediate" (the default) is TLS 1.3
// plus TLS 1.2 with ECDHE key exchange and AEAD ciphers only; "modern" is
// TLS 1.3 only.
enum class tls_profile { intermediate, modern };

// Loads the PEM certificate chain and key, checks they match, applies the
// profile. The error names the file and OpenSSL's reason.
base::result<std::shared_ptr<asio::ssl::context>> make_server_tls(
    const std::string& certificate, const std::string& key,
    tls_profile profile = tls_profile::intermediate);

}  // namespace postern::net
