// The scripted-session interface every mode is built on, and the runner that
// drives N concurrent sessions of one script against a server.
//
// To add a protocol (IMAP: LOGIN, SELECT, FETCH 1:* BODY[] ...), write a
// session_script whose run() speaks it on ctx.conn and records into ctx.rec,
// and a run_<mode>() that calls run_sessions with a factory for it.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "connection.hpp"
#include "options.hpp"
#include "recorder.hpp"

namespace loadgen {

struct session_context {
  int number;  // from 1
  const options& opt;
  connection& conn;
  recorder& rec;
};

class session_script {
 public:
  virtual ~session_script() = default;
  // Runs one whole session on a connected stream (already TLS for implicit
  // TLS). Errors the session survives are recorded in ctx.rec; anything
  // thrown ends the session and counts as one error.
  virtual asio::awaitable<void> run(session_context& ctx) = 0;
};

using script_factory = std::function<std::unique_ptr<session_script>(int number)>;

struct run_result {
  double elapsed_seconds = 0;  // first connect to last session's end
  double cpu_seconds = 0;      // of the calling thread, which runs every session
  bool timed_out = false;
};

// Runs opt.sessions sessions concurrently on one io_context in the calling
// thread. At opt.timeout_seconds every connection is closed, so that pending
// sessions fail (and count as errors) instead of hanging.
run_result run_sessions(const options& opt, const script_factory& make, recorder& rec);

// Adds the fields every mode reports and renders the JSON line.
std::string finish(const options& opt, const run_result& result, recorder& rec);

// The modes; each returns its JSON line.
std::string run_pop3_download(const options& opt);
// lmtp-deliver, or smtp-submit with `submission`.
std::string run_lmtp_deliver(const options& opt, bool submission);
std::string run_imap_login(const options& opt);
std::string run_imap_commands(const options& opt);
std::string run_raw_stream(const options& opt, bool tls);

}  // namespace loadgen
