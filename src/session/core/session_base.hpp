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
        protocol(protocol_) {}

  services& svc;
  std::shared_ptr<net::connection> conn;
  const net::listener_spec& listener;
  std::string id;
  std::string_view protocol;

  std::string out{};          // replies not yet written
  std::string_view status{};  // the first reply code of the current command, for the observer
  std::string user{};         // the address after login
  bool quit = false;

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
  // "joe@example.com from 192.0.2.7" or "192.0.2.7": who a log line is about.
  std::string who() const;
};

}  // namespace postern::session::core
