// raw-tcp / raw-tls: the ceiling a mail server's download could reach on this
// machine. An in-process source (its own thread, like a server process)
// writes --bytes per connection in 64 KiB writes; each session reads and
// discards them, as pop3-download does with message bodies.
#include <fmt/format.h>

#include <thread>

#include "session.hpp"
#include "tls.hpp"

namespace loadgen {

namespace {

constexpr std::size_t chunk_size = 64 * 1024;

template <typename Stream>
asio::awaitable<void> send_bytes(Stream& stream, std::uint64_t bytes) {
  const std::vector<char> chunk(chunk_size, 'x');
  while (bytes > 0) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(bytes, chunk.size()));
    auto [ec, written] = co_await asio::async_write(stream, asio::buffer(chunk.data(), n),
                                                    asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    bytes -= written;
  }
  // Wait for the reader to hang up, so that closing first never resets data in flight.
  char sink[256];
  for (;;) {
    auto [ec, n] =
        co_await stream.async_read_some(asio::buffer(sink), asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
  }
}

asio::awaitable<void> source(tcp::socket socket, asio::ssl::context* tls, std::uint64_t bytes) {
  socket.set_option(tcp::no_delay(true));
  if (tls == nullptr) {
    co_await send_bytes(socket, bytes);
    co_return;
  }
  asio::ssl::stream<tcp::socket> stream(std::move(socket), *tls);
  auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server,
                                              asio::as_tuple(asio::use_awaitable));
  if (!ec) co_await send_bytes(stream, bytes);
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, asio::ssl::context* tls,
                                  std::uint64_t bytes, int count) {
  for (int i = 0; i < count; ++i) {
    auto socket = co_await acceptor.async_accept(asio::use_awaitable);
    asio::co_spawn(acceptor.get_executor(), source(std::move(socket), tls, bytes), asio::detached);
  }
}

class raw_sink final : public session_script {
 public:
  asio::awaitable<void> run(session_context& ctx) override {
    std::uint64_t received = 0;
    const auto start = clock_type::now();
    while (received < ctx.opt.bytes) {
      const auto n = co_await ctx.conn.read_some_discard();
      if (n == 0) throw protocol_error("stream ended early");
      received += n;
      ctx.rec.add_bytes(n);
    }
    ctx.rec.latency("stream", clock_type::now() - start);
    ctx.rec.add_items(1);
  }
};

}  // namespace

std::string run_raw_stream(const options& given, bool tls) {
  options opt = given;
  opt.tls = tls ? tls_mode::implicit : tls_mode::none;
  asio::io_context server_io(1);
  auto server_tls = make_server_context(opt.cert_file, opt.key_file);
  tcp::acceptor acceptor(server_io, tcp::endpoint(asio::ip::make_address(opt.host), 0));
  opt.port = acceptor.local_endpoint().port();
  asio::co_spawn(server_io,
                 accept_loop(acceptor, tls ? &server_tls : nullptr, opt.bytes, opt.sessions),
                 asio::detached);

  double source_cpu = 0;
  std::thread server([&] {
    const double start = thread_cpu_seconds();
    server_io.run();
    source_cpu = thread_cpu_seconds() - start;
  });
  recorder rec;
  const auto result = run_sessions(
      opt, [](int) { return std::make_unique<raw_sink>(); }, rec);
  server_io.stop();
  server.join();
  rec.set_field("source_cpu_s", fmt::format("{:.3f}", source_cpu));
  return finish(opt, result, rec);
}

}  // namespace loadgen
