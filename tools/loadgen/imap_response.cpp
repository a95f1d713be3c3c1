#include "imap_response.hpp"

#include <fmt/format.h>

namespace loadgen {

asio::awaitable<imap_reply> read_reply(connection& c, std::string_view tag) {
  imap_reply reply;
  const auto received_before = c.bytes_received();
  bool first = true;
  for (;;) {
    auto line = co_await c.read_line();
    if (first) {
      reply.first = clock_type::now();
      first = false;
    }
    if (is_tagged(line, tag)) {
      reply.status = std::string(line);
      break;
    }
    if (line.starts_with("* ")) ++reply.untagged;
    // A line that ends in a literal goes on after its octets (RFC 9051 §4.3).
    while (const auto n = literal_length(line)) {
      co_await c.discard(*n);
      line = co_await c.read_line();
    }
  }
  reply.octets = c.bytes_received() - received_before;
  co_return reply;
}

asio::awaitable<void> imap_open_session(session_context& ctx) {
  auto& c = ctx.conn;
  const auto greeting = co_await c.read_line();
  if (!greeting.starts_with("* OK")) throw protocol_error(fmt::format("greeting: {}", greeting));
  if (ctx.opt.tls == tls_mode::starttls) {
    co_await c.write("S STARTTLS\r\n");
    const auto reply = co_await read_reply(c, "S");
    if (!is_tagged_ok(reply.status, "S")) throw protocol_error("STARTTLS: " + reply.status);
    co_await c.start_tls(ctx.opt.server_name);
  }
  const auto start = clock_type::now();
  co_await c.write(fmt::format("L LOGIN {} {}\r\n", imap_quoted(expand(ctx.opt.user, ctx.number)),
                               imap_quoted(ctx.opt.password)));
  const auto reply = co_await read_reply(c, "L");
  if (!is_tagged_ok(reply.status, "L")) throw protocol_error("LOGIN: " + reply.status);
  ctx.rec.latency("login", clock_type::now() - start);
}

asio::awaitable<void> imap_logout(connection& c) {
  co_await c.write("Q LOGOUT\r\n");
  const auto reply = co_await read_reply(c, "Q");
  if (!is_tagged_ok(reply.status, "Q")) throw protocol_error("LOGOUT: " + reply.status);
}

}  // namespace loadgen
