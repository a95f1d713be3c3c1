// pop3-download: log in, then RETR every message with up to --window commands
// in flight (RFC 2449 §6.6 PIPELINING), checking each multi-line response.
#include <fmt/format.h>

#include <charconv>
#include <deque>

#include "session.hpp"

namespace loadgen {

namespace {

bool is_ok(std::string_view line) { return line.starts_with("+OK"); }

// Sends one command and expects +OK; `shown` is what an error message quotes.
asio::awaitable<std::string> simple_command(connection& c, std::string_view cmd,
                                            std::string_view shown) {
  co_await c.write(fmt::format("{}\r\n", cmd));
  const auto line = co_await c.read_line();
  if (!is_ok(line)) throw protocol_error(fmt::format("{}: {}", shown, line));
  co_return std::string(line);
}

// CAPA (RFC 2449 §5); true when the server announces PIPELINING.
asio::awaitable<bool> has_pipelining(connection& c) {
  co_await c.write("CAPA\r\n");
  if (!is_ok(co_await c.read_line())) co_return false;
  bool pipelining = false;
  for (;;) {
    const auto line = co_await c.read_line();
    if (line == ".") break;
    if (line == "PIPELINING") pipelining = true;
  }
  co_return pipelining;
}

int message_count(std::string_view stat_reply) {  // "+OK nn mm"
  int n = -1;
  const auto digits = stat_reply.substr(std::min<std::size_t>(4, stat_reply.size()));
  std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (n < 0) throw protocol_error(fmt::format("STAT: cannot parse {}", stat_reply));
  return n;
}

class pop3_download final : public session_script {
 public:
  asio::awaitable<void> run(session_context& ctx) override {
    auto& c = ctx.conn;
    const auto greeting = co_await c.read_line();
    if (!is_ok(greeting)) throw protocol_error(fmt::format("greeting: {}", greeting));
    if (ctx.opt.tls == tls_mode::starttls) {
      co_await simple_command(c, "STLS", "STLS");
      co_await c.start_tls(ctx.opt.server_name);
    }
    const bool pipelining = co_await has_pipelining(c);
    ctx.rec.set_field("pipelining", pipelining ? "true" : "false");

    const auto login_start = clock_type::now();
    const std::string user = "USER " + expand(ctx.opt.user, ctx.number);
    const std::string pass = "PASS " + ctx.opt.password;
    co_await simple_command(c, user, "USER");
    co_await simple_command(c, pass, "PASS");  // the error quotes no password
    ctx.rec.latency("login", clock_type::now() - login_start);

    int count = message_count(co_await simple_command(c, "STAT", "STAT"));
    if (ctx.opt.max_retr > 0) count = std::min(count, ctx.opt.max_retr);
    co_await retrieve_all(ctx, count, pipelining ? ctx.opt.window : 1);

    const auto quit_start = clock_type::now();
    co_await simple_command(c, "QUIT", "QUIT");
    ctx.rec.latency("QUIT", clock_type::now() - quit_start);
  }

 private:
  // RETR 1..count, keeping between window/2 and window commands in flight.
  // A RETR's latency runs from sending it to the end of its response, so it
  // includes waiting behind the responses pipelined before it.
  asio::awaitable<void> retrieve_all(session_context& ctx, int count, int window) {
    auto& c = ctx.conn;
    std::deque<clock_type::time_point> sent_at;
    int next = 1;
    auto refill = [&]() -> asio::awaitable<void> {
      std::string batch;
      const auto now = clock_type::now();
      while (next <= count && static_cast<int>(sent_at.size()) < window) {
        batch += fmt::format("RETR {}\r\n", next++);
        sent_at.push_back(now);
      }
      if (!batch.empty()) co_await c.write(batch);
    };
    const auto start = clock_type::now();
    co_await refill();
    for (int done = 1; done <= count; ++done) {
      const auto status = co_await c.read_line();
      if (is_ok(status)) {
        ctx.rec.add_bytes(co_await c.read_multiline());
        ctx.rec.add_items(1);
      } else {
        ctx.rec.error(fmt::format("RETR {}: {}", done, status));
      }
      ctx.rec.latency("RETR", clock_type::now() - sent_at.front());
      sent_at.pop_front();
      if (static_cast<int>(sent_at.size()) <= window / 2) co_await refill();
    }
    ctx.rec.transfer(start, clock_type::now());
  }
};

}  // namespace

std::string run_pop3_download(const options& opt) {
  recorder rec;
  const auto result = run_sessions(
      opt, [](int) { return std::make_unique<pop3_download>(); }, rec);
  return finish(opt, result, rec);
}

}  // namespace loadgen
