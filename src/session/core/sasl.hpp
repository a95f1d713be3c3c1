// The SASL exchange (RFC 4422) shared by POP3 AUTH (RFC 5034), IMAP
// AUTHENTICATE (RFC 9051 §6.2.2) and SMTP AUTH (RFC 4954): runs a mechanism
// from proto/sasl, sending its challenges with the protocol's prefix ("+ " or
// "334 ") and reading the client's lines within the session's deadlines.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "proto/sasl/mechanism.hpp"
#include "session/core/session_base.hpp"

namespace postern::session::core {

struct sasl_outcome {
  enum class kind {
    password,     // creds hold what the client sent; verify them with log_in()
    cancelled,    // the client sent "*"
    malformed,    // words say what was wrong
    unsupported,  // no such mechanism; words list the supported ones
    lost,         // the connection ended or timed out; the session quits
  } what = kind::lost;
  proto::sasl::credentials creds;
  std::string words;
};

// The longest SASL response line accepted, CRLF included.
inline constexpr size_t max_sasl_line = 8192;

net::awaitable<sasl_outcome> run_sasl(session_base& s, std::string_view mechanism,
                                      std::optional<std::string_view> initial,
                                      std::string_view challenge_prefix);

// "PLAIN LOGIN": the mechanisms for a capability list.
std::string sasl_mechanism_list();

}  // namespace postern::session::core
