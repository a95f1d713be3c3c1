// DATA for every SMTP-family protocol (LMTP now, submission next), streamed:
// the message is dot-decoded (only CRLF.CRLF ends it), put in canonical form
// and, once it outgrows spool_threshold, written to a spool file as it
// arrives, so a 50 MB message costs the session a few hundred kilobytes. A
// message below the threshold stays in memory (bounded by it) and is stored
// without a spool file: the common small message pays no extra file. Bounded in time as well as
// size: the whole transfer must finish within `timeout + bytes / min_rate`, so a client that
// trickles one byte a second is cut off instead of holding the slot forever.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "base/error.hpp"
#include "session/core/session_base.hpp"
#include "store/store.hpp"

namespace postern::session::smtp {

struct data_limits {
  uint64_t max_size = 0;  // of the message as sent (RFC 1870 SIZE)
  std::chrono::seconds timeout{300};
  uint64_t min_rate = 1024;  // bytes per second, on average
};

// Messages (prefix included) up to this size are kept in memory.
inline constexpr size_t spool_threshold = 256 * 1024;

struct received_message {
  enum class kind {
    complete,  // prefix + message, canonical, in `spool` (spooled) or `memory`
    too_big,   // over max_size: read to its end and dropped; message_bytes says how big
    lost,      // the connection ended mid-message: nothing kept
    too_slow,  // the deadline passed: the connection is closed, nothing kept
    failed,    // the spool could not be written (disk full...): `error` says why
  } what = kind::lost;
  bool spooled = false;
  store::spool_file spool;
  std::string memory;          // the whole message when not spooled
  uint64_t size = 0;           // bytes of prefix + message
  uint32_t dot_lines = 0;      // lines starting with '.'
  uint64_t message_bytes = 0;  // bytes of the message as received (after unstuffing)
  base::error error{base::errc::io_error, "", ""};
};

// Reads the message after the 354 reply. `prefix` (trace header lines in
// CRLF form) is written before it.
net::awaitable<received_message> receive_data(core::session_base& s, store::store& mail,
                                              std::string_view prefix, const data_limits& limits);

}  // namespace postern::session::smtp
