// The per-command observer: after every command the engine reports what ran,
// for whom, with which result, how many bytes and how long. The protocol log,
// metrics and throttling budgets plug in here without touching handlers.
//
// Threads: on_command is called from I/O threads, concurrently for different
// sessions; implementations must be thread-safe and must not block.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace postern::session::core {

struct command_record {
  std::string_view protocol;
  std::string_view session_id;
  std::string_view remote_ip;
  std::string_view user;       // empty before login
  std::string_view verb;       // upper-case
  std::string_view arguments;  // escaped; secrets replaced by "*****"
  std::string_view result;     // first reply code: "+OK", "-ERR", "250", "550"...
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  std::chrono::microseconds duration{0};
  uint64_t seq = 0;             // the command's number in its session, from 1
  std::string_view reply_text;  // a refusal's first reply line after its code; empty on success
  std::string_view local_ip;
  uint16_t local_port = 0;
  uint16_t remote_port = 0;
};

class command_observer {
 public:
  virtual ~command_observer() = default;
  // After every command (metrics count them all).
  virtual void on_command(const command_record& r) = 0;
  // When a connection opens (its greeting, or the refusal at the door) and
  // when it closes: `verb` is empty, `reply_text` holds the context
  // ("OpenSession", "OpenSession; R=-ERR [SYS/TEMP] ...", "CloseSession ..."),
  // duration and bytes are the whole session's at close. Not a command.
  virtual void on_session(const command_record&) {}
  // False when no log would show the arguments now: the engine then leaves
  // `arguments` empty (escaping them costs more than the rest of a command).
  virtual bool wanted() const { return true; }
};

// The observer a node uses until the protocol log exists: one debug-level
// log line per command.
command_observer& log_observer();

// How much of a command's arguments is a secret that logs must mask.
enum class secret { none, all, after_first_word };

// The arguments as they may be logged: escaped, cut to a sane length, and
// "*****" in place of a secret (PASS's password; AUTH's initial response after
// the mechanism name; IMAP LOGIN's password).
std::string loggable_arguments(std::string_view args, secret mask);

}  // namespace postern::session::core
