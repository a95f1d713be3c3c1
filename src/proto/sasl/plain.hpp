// SASL PLAIN (RFC 4616) and LOGIN messages, shared by POP3, IMAP and SMTP.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace postern::proto::sasl {

struct plain_credentials {
  std::string authzid;
  std::string authcid;
  std::string password;
};

// Decodes the base64 PLAIN response "authzid NUL authcid NUL passwd".
std::optional<plain_credentials> decode_plain(std::string_view base64);

}  // namespace postern::proto::sasl
