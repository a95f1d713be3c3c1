#include "session.hpp"

#include <fmt/format.h>

#include <vector>

#include "tls.hpp"

namespace loadgen {

namespace {
const char* tls_name(tls_mode t) {
  switch (t) {
    case tls_mode::none:
      return "none";
    case tls_mode::implicit:
      return "implicit";
    case tls_mode::starttls:
      return "starttls";
  }
  return "?";
}
}  // namespace

run_result run_sessions(const options& opt, const script_factory& make, recorder& rec) {
  asio::io_context io(1);
  auto tls = make_client_context();
  // The connection each session is on now, for the watchdog to close.
  std::vector<std::shared_ptr<connection>> conns(opt.sessions);
  int remaining = opt.sessions;
  run_result result;
  asio::steady_timer watchdog(io);

  // One round: connect, run the script, close. False when it failed.
  auto round = [&](int number) -> asio::awaitable<bool> {
    auto conn = conns[number - 1] = std::make_shared<connection>(io.get_executor(), tls);
    bool ok = true;
    try {
      auto script = make(number);
      session_context ctx{number, opt, *conn, rec};
      co_await conn->connect(opt.host, opt.port);
      if (opt.tls == tls_mode::implicit) co_await conn->start_tls(opt.server_name);
      co_await script->run(ctx);
      if (conn->is_tls()) {
        rec.set_string("tls_version", conn->tls_version());
        rec.set_string("tls_cipher", conn->tls_cipher());
      }
    } catch (const boost::system::system_error& e) {
      // what() carries Asio's source location; the code's message is enough.
      const auto why = result.timed_out ? "timed out (--timeout)" : e.code().message();
      rec.error(fmt::format("session {}: {}", number, why));
      ok = false;
    } catch (const std::exception& e) {
      rec.error(fmt::format("session {}: {}", number, e.what()));
      ok = false;
    }
    conn->close();
    co_return ok;
  };

  const double cpu_start = thread_cpu_seconds();
  const auto start = clock_type::now();
  for (int number = 1; number <= opt.sessions; ++number) {
    auto session = [&, number]() -> asio::awaitable<void> {
      for (int i = 0; i < opt.repeat && !result.timed_out; ++i) {
        if (!co_await round(number)) break;
      }
      if (--remaining == 0) watchdog.cancel();
    };
    asio::co_spawn(io, std::move(session), asio::detached);
  }
  watchdog.expires_after(std::chrono::milliseconds(static_cast<long>(opt.timeout_seconds * 1000)));
  watchdog.async_wait([&](boost::system::error_code ec) {
    if (ec) return;
    result.timed_out = true;
    for (auto& c : conns) {
      if (c) c->close();
    }
  });
  io.run();
  result.elapsed_seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  result.cpu_seconds = thread_cpu_seconds() - cpu_start;
  return result;
}

std::string finish(const options& opt, const run_result& result, recorder& rec) {
  rec.set_string("server", fmt::format("{}:{}", opt.host, opt.port));
  rec.set_string("tls", tls_name(opt.tls));
  rec.set_field("sessions", std::to_string(opt.sessions));
  rec.set_field("repeat", std::to_string(opt.repeat));
  rec.set_field("loadgen_cpu_s", fmt::format("{:.3f}", result.cpu_seconds));
  rec.set_field("timed_out", result.timed_out ? "true" : "false");
  return rec.to_json(opt.mode, result.elapsed_seconds);
}

}  // namespace loadgen
