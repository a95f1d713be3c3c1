// Reading IMAP (RFC 9051) responses as a client: every line up to the tagged
// status line, literals read through and discarded, and the common start of
// a session (greeting, STARTTLS, LOGIN) that the IMAP modes share.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "connection.hpp"
#include "imap_lines.hpp"
#include "recorder.hpp"
#include "session.hpp"

namespace loadgen {

struct imap_reply {
  std::string status;              // the tagged line
  std::uint64_t octets = 0;        // the whole response as received
  std::uint64_t untagged = 0;      // `* ...` responses in it
  clock_type::time_point first{};  // when its first line had arrived
};

// Reads the response to the command tagged `tag`.
asio::awaitable<imap_reply> read_reply(connection& c, std::string_view tag);

// Greeting, STARTTLS when --tls starttls, then LOGIN as --user/--password
// (its latency recorded as "login"). Throws protocol_error on a refusal; the
// message never contains the password.
asio::awaitable<void> imap_open_session(session_context& ctx);

// LOGOUT, expecting the tagged OK (RFC 9051 §6.1.3).
asio::awaitable<void> imap_logout(connection& c);

}  // namespace loadgen
