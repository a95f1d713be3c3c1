// Listeners and the I/O threads: one io_context per thread, accepted sockets
// handed round-robin to them, a session coroutine per connection, and the
// two-stage graceful shutdown (DESIGN: stop accepting, let sessions finish
// their command and say goodbye, then exit; a second signal or the deadline
// exits at once).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/error.hpp"
#include "net/connection.hpp"
#include "net/tls.hpp"

namespace postern::net {

enum class tls_mode { none, starttls, implicit };

struct listener_spec {
  std::string protocol;  // "pop3", "lmtp", ...
  std::string address;
  uint16_t port = 0;
  tls_mode tls = tls_mode::none;
  std::string origin;  // where it was configured, for error messages
};

// Runs one session to completion. The connection is started (watchdog
// running) but, for implicit TLS, not yet handshaken: the session counts it
// against its limits first and bounds the handshake by its pre-login timeout.
using session_handler =
    std::function<awaitable<void>(std::shared_ptr<connection>, const listener_spec&)>;

class server {
 public:
  explicit server(size_t threads);
  ~server();

  // Binds now, so that a port in use is reported before the node claims to
  // serve. Returns the bound port (useful with port 0).
  base::result<uint16_t> listen(listener_spec spec, std::shared_ptr<tls_source> tls,
                                session_handler handler);
  // Called (on the blocking pool) at each SIGHUP while run() runs.
  void on_hangup(std::function<void()> f) { on_hangup_ = std::move(f); }
  // Called once run() handles signals and accepts (systemd's READY), and once
  // when the graceful shutdown begins (STOPPING).
  void on_started(std::function<void()> f) { on_started_ = std::move(f); }
  void on_shutdown(std::function<void()> f) { on_shutdown_ = std::move(f); }
  // Runs until stopped. SIGINT/SIGTERM start the graceful shutdown; a second
  // signal, or `shutdown_timeout` after the first, stops at once.
  void run(std::chrono::milliseconds shutdown_timeout = std::chrono::seconds(10));
  // Stage one from code (tests): stop accepting and interrupt idle sessions.
  void begin_shutdown();
  void stop();
  size_t live_sessions() const { return live_.load(); }

 private:
  struct listener;
  awaitable<void> accept_loop(std::shared_ptr<listener> l);
  awaitable<void> run_session(std::shared_ptr<listener> l, std::shared_ptr<connection> conn);
  asio::io_context& next_context();
  void session_ended(connection* c);

  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<std::shared_ptr<listener>> listeners_;
  size_t next_ = 0;
  std::mutex conns_mu_;
  std::unordered_map<connection*, std::weak_ptr<connection>> conns_;
  std::atomic<size_t> live_{0};
  std::atomic<bool> shutting_down_{false};
  std::unique_ptr<asio::steady_timer> shutdown_timer_;
  std::function<void()> on_hangup_;
  std::function<void()> on_started_;
  std::function<void()> on_shutdown_;
};

}  // namespace postern::net
