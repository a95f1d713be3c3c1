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
#include "store/canonical.hpp"
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

// Builds a received_message from canonicalised pieces: in memory up to
// spool_threshold, then in a spool file written as it grows. DATA feeds it
// dot-decoded lines, BDAT (RFC 3030) its chunks as they are.
class message_builder {
 public:
  message_builder(store::store& mail, std::string_view prefix);
  // Canonicalises `in` onto the message.
  void feed(std::string_view in);
  // The same for bytes the caller appended to buffer() from `from` on.
  std::string& buffer() { return out_; }
  void fed_in_place(size_t from) { canonical_.feed_in_place(out_, from); }
  // Moves the buffer to the spool file once it outgrew spool_threshold.
  net::awaitable<void> spool_if_full();
  // The complete message (or `failed` when the spool could not be written).
  net::awaitable<received_message> finish(uint64_t message_bytes);
  // Drops what was received; the message is `what`.
  received_message abandon(received_message::kind what, uint64_t message_bytes);

 private:
  net::awaitable<void> spool_out();
  store::store& mail_;
  store::canonical_stream canonical_;
  std::string out_;
  received_message r_;
  bool write_failed_ = false;
};

// Reads the message after the 354 reply. `prefix` (trace header lines in
// CRLF form) is written before it.
net::awaitable<received_message> receive_data(core::session_base& s, store::store& mail,
                                              std::string_view prefix, const data_limits& limits);

}  // namespace postern::session::smtp
