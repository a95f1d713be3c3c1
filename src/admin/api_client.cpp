#include "admin/api_client.hpp"

#include <fmt/format.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "admin/json_codec.hpp"
#include "net/asio.hpp"

namespace postern::admin {

namespace http = boost::beast::http;
namespace asio = net::asio;
using net::tcp;

std::string api_endpoint::where() const {
  return fmt::format("{}://{}:{}", tls ? "https" : "http", address, port);
}

std::optional<api_endpoint> find_api(const node_config& cfg) {
  for (auto& l : cfg.listeners)
    if (l.protocol == "admin") {
      api_endpoint e;
      e.address = l.address == "0.0.0.0" ? "127.0.0.1" : l.address == "::" ? "::1" : l.address;
      e.port = l.port;
      e.tls = l.tls == net::tls_mode::implicit;
      e.ca_file = cfg.tls_certificate;
      return e;
    }
  return std::nullopt;
}

namespace {

template <class Stream>
net::awaitable<void> exchange(Stream& stream, http::request<http::string_body>& req,
                              http::response<http::string_body>& res, net::error_code& failed) {
  auto [we, wn] = co_await http::async_write(stream, req, net::use_nothrow);
  if (we) {
    failed = we;
    co_return;
  }
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  auto [re, rn] = co_await http::async_read(stream, buffer, parser, net::use_nothrow);
  if (re) {
    failed = re;
    co_return;
  }
  res = parser.release();
}

}  // namespace

api_call call_api(const api_endpoint& at, const std::string& token, const std::string& command,
                  const arguments& args, std::chrono::seconds timeout) {
  api_call out;
  asio::io_context io;
  std::string target = "/api/" + command;
  for (auto& c : target)
    if (c == ' ') c = '/';
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, at.address);
  req.set(http::field::authorization, "Bearer " + token);
  req.set(http::field::content_type, "application/json");
  req.set(http::field::user_agent, "postern-cli/" POSTERN_VERSION);
  req.keep_alive(false);
  req.body() = arguments_to_json(args);
  req.prepare_payload();
  http::response<http::string_body> res;

  net::error_code ec;
  auto address = asio::ip::make_address(at.address, ec);
  if (ec) {
    out.why = fmt::format("the admin listener's address '{}' is not an IP address", at.address);
    return out;
  }
  tcp::endpoint endpoint(address, at.port);
  tcp::socket socket(io);
  net::error_code failed;
  bool connected = false;
  asio::ssl::context tls_ctx(asio::ssl::context::tls_client);
  auto run = [&]() -> net::awaitable<void> {
    auto [ce] = co_await socket.async_connect(endpoint, net::use_nothrow);
    if (ce) {
      failed = ce;
      co_return;
    }
    connected = true;
    if (!at.tls) {
      co_await exchange(socket, req, res, failed);
      co_return;
    }
    // The node's own certificate (self-signed or not) and the system's CAs.
    tls_ctx.set_default_verify_paths();
    if (!at.ca_file.empty()) {
      net::error_code load;
      tls_ctx.load_verify_file(at.ca_file, load);
    }
    tls_ctx.set_verify_mode(asio::ssl::verify_peer);
    asio::ssl::stream<tcp::socket&> stream(socket, tls_ctx);
    auto [he] = co_await stream.async_handshake(asio::ssl::stream_base::client, net::use_nothrow);
    if (he) {
      failed = he;
      co_return;
    }
    co_await exchange(stream, req, res, failed);
  };
  asio::co_spawn(io, run(), asio::detached);
  io.run_for(timeout);
  if (!io.stopped()) {
    out.why = fmt::format("the node at {} did not answer within {} s", at.where(), timeout.count());
    return out;
  }
  if (failed) {
    if (!connected &&
        (failed == asio::error::connection_refused || failed == asio::error::host_unreachable))
      out.what = api_call::outcome::not_running;
    out.why = fmt::format("{}: {}", at.where(), failed.message());
    return out;
  }
  auto reply = reply_from_json(res.body(), res.result_int());
  if (!reply) {
    out.why = reply.err().message;
    return out;
  }
  out.what = api_call::outcome::answered;
  out.reply = std::move(*reply);
  return out;
}

}  // namespace postern::admin
