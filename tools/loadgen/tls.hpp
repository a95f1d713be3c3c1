// TLS contexts for the load generator. The client does not verify the
// server's certificate: the benchmark servers use a throw-away self-signed one.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <string>

namespace loadgen {

// TLS 1.2 or later; which one was negotiated is reported in the result.
boost::asio::ssl::context make_client_context();

// TLS 1.3 only. Uses cert_file/key_file (PEM) when given, else a self-signed
// P-256 certificate for "localhost" generated in memory.
boost::asio::ssl::context make_server_context(const std::string& cert_file,
                                              const std::string& key_file);

}  // namespace loadgen
