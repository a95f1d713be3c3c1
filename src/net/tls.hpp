// Server TLS contexts built from the configured certificate and key.
#pragma once

#include <memory>
#include <string>

#include "base/error.hpp"
#include "net/asio.hpp"

namespace postern::net {

// Loads the PEM certificate chain and key, checks they match, allows TLS 1.2
// and 1.3 only. The error names the file and OpenSSL's reason.
base::result<std::shared_ptr<asio::ssl::context>> make_server_tls(const std::string& certificate,
                                                                  const std::string& key);

}  // namespace postern::net
