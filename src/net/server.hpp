// Listeners and the I/O threads: one io_context per thread, accepted sockets
// handed round-robin to them, a session coroutine per connection.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "net/connection.hpp"

namespace postern::net {

enum class tls_mode { none, starttls, implicit };

struct listener_spec {
  std::string protocol;  // "pop3", "lmtp", ...
  std::string address;
  uint16_t port = 0;
  tls_mode tls = tls_mode::none;
  std::string origin;  // where it was configured, for error messages
};

// Runs one session to completion; the connection is already started (and,
// for implicit TLS, handshaken).
using session_handler =
    std::function<awaitable<void>(std::shared_ptr<connection>, const listener_spec&)>;

class server {
 public:
  explicit server(size_t threads);
  ~server();

  // Binds now, so that a port in use is reported before the node claims to
  // serve. Returns the bound port (useful with port 0).
  base::result<uint16_t> listen(listener_spec spec, std::shared_ptr<asio::ssl::context> tls,
                                size_t buffer_size, session_handler handler);
  // Runs until SIGINT/SIGTERM or stop().
  void run();
  void stop();

 private:
  struct listener;
  awaitable<void> accept_loop(std::shared_ptr<listener> l);
  asio::io_context& next_context();

  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<std::shared_ptr<listener>> listeners_;
  size_t next_ = 0;
};

}  // namespace postern::net
