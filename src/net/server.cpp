#include "net/server.hpp"

#include <fmt/format.h>

#include <thread>

#include "observe/log.hpp"

namespace postern::net {

struct server::listener {
  listener_spec spec;
  tcp::acceptor acceptor;
  std::shared_ptr<asio::ssl::context> tls;
  size_t buffer_size;
  session_handler handler;
};

server::server(size_t threads) {
  for (size_t i = 0; i < std::max<size_t>(threads, 1); ++i)
    contexts_.push_back(std::make_unique<asio::io_context>(1));
}

server::~server() = default;

asio::io_context& server::next_context() {
  auto& ctx = *contexts_[next_ % contexts_.size()];
  ++next_;
  return ctx;
}

base::result<uint16_t> server::listen(listener_spec spec, std::shared_ptr<asio::ssl::context> tls,
                                      size_t buffer_size, session_handler handler) {
  auto where =
      fmt::format("{} listener {}:{} ({})", spec.protocol, spec.address, spec.port, spec.origin);
  error_code ec;
  auto addr = asio::ip::make_address(spec.address, ec);
  if (ec)
    return base::error{base::errc::invalid_argument,
                       fmt::format("{}: address '{}' is not an IP address", where, spec.address),
                       ""};
  tcp::endpoint ep(addr, spec.port);
  tcp::acceptor acceptor(*contexts_[0]);
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return base::error{base::errc::io_error,
                       fmt::format("{}: cannot listen: {}", where, ec.message()), ""};
  uint16_t port = acceptor.local_endpoint().port();
  auto l = std::make_shared<listener>(listener{std::move(spec), std::move(acceptor), std::move(tls),
                                               buffer_size, std::move(handler)});
  l->spec.port = port;
  listeners_.push_back(l);
  asio::co_spawn(*contexts_[0], accept_loop(l), asio::detached);
  return port;
}

awaitable<void> server::accept_loop(std::shared_ptr<listener> l) {
  for (;;) {
    auto& ctx = next_context();
    auto [ec, socket] = co_await l->acceptor.async_accept(ctx, use_nothrow);
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      // Out of file descriptors or similar: back off briefly, keep serving.
      asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(50));
      co_await t.async_wait(use_nothrow);
      continue;
    }
    auto conn = std::make_shared<connection>(
        std::move(socket), l->spec.tls == tls_mode::none ? nullptr : l->tls, l->buffer_size);
    asio::co_spawn(
        ctx,
        [conn, l]() -> awaitable<void> {
          conn->start();
          if (l->spec.tls == tls_mode::implicit) {
            bool secured = co_await conn->start_tls();
            if (!secured) {
              conn->close();
              co_return;
            }
          }
          try {
            co_await l->handler(conn, l->spec);
          } catch (const std::exception& e) {
            // A bug in one session must not take the node down; say what happened.
            observe::log(observe::level::error, l->spec.protocol, "",
                         "session from {} ended by an internal error: {}", conn->remote_ip(),
                         e.what());
          }
          conn->close();
        },
        asio::detached);
  }
}

void server::run() {
  asio::signal_set signals(*contexts_[0], SIGINT, SIGTERM);
  signals.async_wait([this](const error_code& ec, int) {
    if (!ec) stop();
  });
  std::vector<std::thread> threads;
  for (size_t i = 1; i < contexts_.size(); ++i)
    threads.emplace_back([ctx = contexts_[i].get()] {
      auto guard = asio::make_work_guard(*ctx);
      ctx->run();
    });
  {
    auto guard = asio::make_work_guard(*contexts_[0]);
    contexts_[0]->run();
  }
  for (auto& t : threads) t.join();
}

void server::stop() {
  for (auto& c : contexts_) c->stop();
}

}  // namespace postern::net
