#include "net/server.hpp"

#include <fmt/format.h>
#include <pthread.h>

#include <thread>

#include "net/blocking.hpp"
#include "observe/log.hpp"

namespace postern::net {

struct server::listener {
  listener_spec spec;
  tcp::acceptor acceptor;
  std::shared_ptr<tls_source> tls;
  session_handler handler;
  std::string name;  // "pop3 listener 127.0.0.1:110", for the log
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

base::result<uint16_t> server::listen(listener_spec spec, std::shared_ptr<tls_source> tls,
                                      session_handler handler) {
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
  auto name = fmt::format("{} listener {}:{}", spec.protocol, spec.address, port);
  auto l = std::make_shared<listener>(
      listener{std::move(spec), std::move(acceptor), std::move(tls), std::move(handler), name});
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
      if (ec == asio::error::operation_aborted || shutting_down_) co_return;
      // Out of file descriptors or similar: say so (once in a while, not per
      // attempt), back off briefly, keep serving.
      observe::log_limited(l->name, observe::level::error, "node", "",
                           "accepting on the {} failed: {}; retrying", l->name, ec.message());
      asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(50));
      co_await t.async_wait(use_nothrow);
      continue;
    }
    auto conn = std::make_shared<connection>(
        std::move(socket), l->spec.tls == tls_mode::none || !l->tls ? nullptr : l->tls->current());
    {
      std::lock_guard lock(conns_mu_);
      conns_.emplace(conn.get(), conn);
    }
    ++live_;
    asio::co_spawn(ctx, run_session(l, std::move(conn)), asio::detached);
  }
}

awaitable<void> server::run_session(std::shared_ptr<listener> l, std::shared_ptr<connection> conn) {
  conn->start();
  if (shutting_down_) conn->interrupt();
  try {
    co_await l->handler(conn, l->spec);
  } catch (const std::exception& e) {
    // A bug in one session must not take the node down; say what happened.
    observe::log(observe::level::error, l->spec.protocol, "",
                 "session from {} ended by an internal error: {}", conn->remote_ip(), e.what());
  }
  conn->close();
  session_ended(conn.get());
}

void server::session_ended(connection* c) {
  {
    std::lock_guard lock(conns_mu_);
    conns_.erase(c);
  }
  if (--live_ == 0 && shutting_down_) {
    asio::post(*contexts_[0], [this] {
      observe::log(observe::level::info, "node", "", "every session has ended");
      stop();
    });
  }
}

void server::begin_shutdown() {
  if (shutting_down_.exchange(true)) return;
  if (on_shutdown_) on_shutdown_();
  for (auto& l : listeners_) {
    asio::post(*contexts_[0], [l] {
      error_code ec;
      l->acceptor.close(ec);
    });
  }
  std::vector<std::shared_ptr<connection>> open;
  {
    std::lock_guard lock(conns_mu_);
    for (auto& [raw, weak] : conns_)
      if (auto c = weak.lock()) open.push_back(std::move(c));
  }
  observe::log(observe::level::info, "node", "",
               "stopping: no new connections; {} sessions finish their command and are told "
               "goodbye",
               open.size());
  for (auto& c : open) asio::post(c->executor(), [c] { c->interrupt(); });
  if (live_ == 0) asio::post(*contexts_[0], [this] { stop(); });
}

void server::run(std::chrono::milliseconds shutdown_timeout) {
  asio::signal_set signals(*contexts_[0], SIGINT, SIGTERM);
  std::function<void(const error_code&, int)> on_signal = [&](const error_code& ec, int sig) {
    if (ec) return;
    if (shutting_down_) {
      observe::log(observe::level::warning, "node", "",
                   "second signal {}: exiting now with {} sessions open", sig, live_.load());
      stop();
      return;
    }
    begin_shutdown();
    shutdown_timer_ = std::make_unique<asio::steady_timer>(*contexts_[0], shutdown_timeout);
    shutdown_timer_->async_wait([this, shutdown_timeout](const error_code& e) {
      if (e) return;
      observe::log(observe::level::warning, "node", "",
                   "shutdown_timeout ({} ms) reached with {} sessions open: exiting now",
                   shutdown_timeout.count(), live_.load());
      stop();
    });
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);
  // SIGHUP: reload what can be reloaded (certificates), off the I/O thread.
  asio::signal_set hangup(*contexts_[0], SIGHUP);
  std::function<void(const error_code&, int)> on_hup = [&](const error_code& ec, int) {
    if (ec) return;
    if (on_hangup_) blocking_pool().post([f = on_hangup_] { f(); });
    hangup.async_wait(on_hup);
  };
  hangup.async_wait(on_hup);
  if (on_started_) asio::post(*contexts_[0], on_started_);
  std::vector<std::thread> threads;
  for (size_t i = 1; i < contexts_.size(); ++i) {
    threads.emplace_back([ctx = contexts_[i].get()] {
      auto guard = asio::make_work_guard(*ctx);
      ctx->run();
    });
    // The first I/O thread is the main thread and keeps the process's name.
    ::pthread_setname_np(threads.back().native_handle(), "postern-io");
  }
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
