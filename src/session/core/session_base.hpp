// What every protocol's session holds and the engine works on: the
// connection, the session id, the pending output with its budget, the login.
//
// Output: handlers append replies to `out`; the engine flushes at the end of
// a pipelined batch, and whenever `out` reaches output_budget, so a client
// that sends commands without reading costs at most the budget: the session
// stops reading until the client drains, and a client that never drains is
// closed by the write timeout.
//
// Threads: one session belongs to one I/O thread; nothing here is shared.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "net/server.hpp"
#include "session/services.hpp"

namespace postern::session::core {

// Output waiting for a slow reader is bounded by this much per session.
inline constexpr size_t output_budget = 256 * 1024;

struct session_base {
  session_base(services& svc_, std::shared_ptr<net::connection> conn_,
               const net::listener_spec& listener_, std::string id_, std::string_view protocol_)
      : svc(svc_),
        conn(std::move(conn_)),
        listener(listener_),
        id(std::move(id_)),
        protocol(protocol_) {
    track();
  }
  ~session_base();
  session_base(const session_base&) = delete;
  session_base& operator=(const session_base&) = delete;

  services& svc;
  std::shared_ptr<net::connection> conn;
  const net::listener_spec& listener;
  std::string id;
  std::string_view protocol;

  std::string out{};         // replies not yet written
  std::string status{};      // the first reply code of the current command, for the observer
  std::string user{};        // the address after login
  std::string login_name{};  // the name the last login tried (logs name it on failure)
  bool quit = false;
  // The user's throttling budget on this protocol, from login on, and the
  // knobs it is measured with (the session's settings snapshot).
  std::shared_ptr<policy::budget_account> budget{};
  const policy::budget_settings* budget_knobs = nullptr;

  // Writes pending output now; `more` when a file is sent right after.
  // False when the connection is gone.
  net::awaitable<bool> flush(bool more = false);
  // Flushes once the pending output reached the budget. Long listings call
  // it between lines so they never hold more than the budget either.
  net::awaitable<bool> flush_if_full();
  // Notes a reply's code (first one per command wins).
  void note_status(std::string_view code) {
    if (status.empty()) status = code;
  }
  // A refusal's code and words, kept for the protocol log's context field.
  void note_status(std::string_view code, std::string_view text) {
    if (!status.empty()) return;
    status = code;
    status_text.assign(text.substr(0, 300));
  }
  std::string status_text{};  // the refusal's words (see note_status)
  uint64_t commands = 0;      // commands run so far (the protocol log's seqNumber)
  // What the observer is told about the command that just ran (the views
  // point into this session and `verb`/`args`; use it before the next command).
  command_record record(std::string_view verb, std::string_view args, uint64_t bytes_in,
                        uint64_t bytes_out, std::chrono::steady_clock::time_point started) const;
  // "joe@example.com from 192.0.2.7" or "192.0.2.7": who a log line is about.
  std::string who() const;

  // For the protocol log's session lines (command_observer::on_session):
  // the greeting went out, or the door refused with `refusal` (the reply
  // line, or why the TLS handshake failed). The close line follows when the
  // session ends.
  void opened(std::string_view refusal = {});

  // The session's row in the node's session table (`postern session list`):
  // the engines call these around each command, the login after it.
  void command_started(std::string_view verb);
  void command_done();
  void logged_in();
  // Why the node ended this session (`postern session kill`, a component set
  // inactive); empty when it was not ended that way (the node stops).
  std::string end_reason() const {
    return tracked && tracked->killed ? tracked->end_reason + " (session " + id + ")"
                                      : std::string();
  }

 private:
  void track();
  command_observer& observer() const { return svc.observer ? *svc.observer : log_observer(); }
  void report_session(std::string_view context, std::chrono::microseconds duration);
  std::shared_ptr<session_table::entry> tracked;
  bool opened_ = false;
  std::chrono::steady_clock::time_point connected_ = std::chrono::steady_clock::now();
};

}  // namespace postern::session::core
