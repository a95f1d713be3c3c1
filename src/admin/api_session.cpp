#include "admin/api_session.hpp"

#include <fmt/format.h>

#include <boost/beast/http.hpp>
#include <sstream>

#include "admin/admin_token.hpp"
#include "admin/json_codec.hpp"
#include "admin/node_runtime.hpp"
#include "base/strings.hpp"
#include "net/blocking.hpp"
#include "observe/log.hpp"

namespace postern::admin {

namespace http = boost::beast::http;

namespace {

constexpr size_t max_header_bytes = 16 * 1024;
constexpr size_t max_body_bytes = 1024 * 1024;
// Admin connections are few; a flood of them must not eat the node's descriptors.
constexpr uint32_t max_api_connections = 64;
constexpr auto request_timeout = std::chrono::seconds(30);
constexpr auto idle_timeout = std::chrono::seconds(60);

using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

response reply(unsigned status, std::string body, bool keep_alive,
               std::string_view type = "application/json") {
  response res{static_cast<http::status>(status), 11};
  res.set(http::field::server, "postern");
  res.set(http::field::content_type, type);
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(keep_alive);
  res.body() = std::move(body);
  if (res.body().empty() || res.body().back() != '\n') res.body() += '\n';
  res.prepare_payload();
  return res;
}

response error_reply(unsigned status, const std::string& words, bool keep_alive) {
  return reply(status, reply_to_json(failure(static_cast<int>(status), words)), keep_alive);
}

// "/api/user/add" -> "user add"; nullopt for a path that is no command's.
std::optional<std::string> command_name(std::string_view target) {
  if (!target.starts_with("/api/")) return std::nullopt;
  std::string name(target.substr(5));
  if (auto q = name.find('?'); q != std::string::npos) name.resize(q);
  for (auto& c : name)
    if (c == '/') c = ' ';
  return name;
}

std::string_view bearer(const request& req) {
  auto it = req.find(http::field::authorization);
  if (it == req.end()) return {};
  std::string_view v(it->value().data(), it->value().size());
  if (v.size() < 7 || !base::iequals(v.substr(0, 7), "Bearer ")) return {};
  return v.substr(7);
}

struct api_state {
  api_context& api;
  std::shared_ptr<net::connection> conn;
  std::string id;
};

net::awaitable<response> run_command(api_state& s, const command_spec& spec, const request& req) {
  bool keep = req.keep_alive();
  auto args = arguments_from_json(req.body());
  if (!args) co_return error_reply(400, args.err().message, keep);
  if (auto bad = check_arguments(spec, *args)) co_return error_reply(400, bad->error, keep);
  auto& node = s.api.node;
  auto subject = s.conn->verified_client_certificate();
  auto requester = subject.empty()
                       ? fmt::format("admin API from {}", s.conn->remote_ip())
                       : fmt::format("admin API from {} (certificate {})", s.conn->remote_ip(),
                                     base::printable(subject, 200));
  auto work = [&node, &spec, a = std::move(*args), requester] {
    command_context ctx{node.cfg, node.svc.dir, node.svc.mail, &node, requester};
    return spec.run(ctx, a);
  };
  auto result = co_await net::run_blocking(std::move(work));
  co_return reply(static_cast<unsigned>(result.status), reply_to_json(result), keep);
}

net::awaitable<response> answer(api_state& s, const request& req) {
  bool keep = req.keep_alive();
  std::string_view target(req.target().data(), req.target().size());
  auto method = req.method();
  if (target == "/healthz" || target == "/readyz") {
    if (method != http::verb::get && method != http::verb::head)
      co_return error_reply(405, fmt::format("{} takes GET", target), keep);
    if (target == "/healthz") co_return reply(200, "ok", keep, "text/plain; charset=utf-8");
    auto& node = s.api.node;
    auto check = [&node] { return readiness(node); };
    auto r = co_await net::run_blocking(std::move(check));
    co_return reply(static_cast<unsigned>(r.status), reply_to_json(r), keep);
  }
  // A client certificate issued by the listener's client_ca lets a request
  // in as the token does (the subject names it in the log).
  bool by_certificate = !s.conn->verified_client_certificate().empty();
  if (!by_certificate && !token_matches(s.api.token, bearer(req))) {
    auto untrusted = s.conn->unverified_client_certificate();
    auto res = error_reply(
        401,
        untrusted.empty()
            ? "this request needs the header Authorization: Bearer <token>, with the token the "
              "node keeps in data_dir/admin.token (or a client certificate from the listener's "
              "client_ca)"
            : fmt::format("the client certificate {} was not issued by the listener's client_ca; "
                          "send Authorization: Bearer <token> instead",
                          base::printable(untrusted, 200)),
        keep);
    res.set(http::field::www_authenticate, "Bearer realm=\"postern\"");
    co_return res;
  }
  if (target == "/metrics") {
    if (method != http::verb::get && method != http::verb::head)
      co_return error_reply(405, "/metrics takes GET", keep);
    auto& node = s.api.node;
    auto render = [&node] { return render_metrics(node); };
    auto text = co_await net::run_reading(std::move(render));
    co_return reply(200, std::move(text), keep,
                    "application/openmetrics-text; version=1.0.0; charset=utf-8");
  }
  if (target == "/api" || target == "/api/") {
    if (method != http::verb::get) co_return error_reply(405, "/api takes GET", keep);
    co_return reply(200, commands_to_json(), keep);
  }
  auto name = command_name(target);
  const command_spec* spec = name ? find_command(*name) : nullptr;
  if (!spec)
    co_return error_reply(
        404, fmt::format("no such command: {} (GET /api lists them)", base::printable(target, 120)),
        keep);
  if (method != http::verb::post) {
    auto res = error_reply(405, fmt::format("{} takes POST with a JSON body", target), keep);
    res.set(http::field::allow, "POST");
    co_return res;
  }
  auto res = co_await run_command(s, *spec, req);
  co_return res;
}

// Reads one request; nullopt (after answering 400/413 where the client can
// hear it) when the connection is to close.
net::awaitable<std::optional<request>> read_request(api_state& s, std::string& pending) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(max_header_bytes);
  parser.body_limit(max_body_bytes);
  parser.eager(true);
  auto deadline = net::connection::clock::now() + request_timeout;
  bool started = !pending.empty();
  for (;;) {
    if (!pending.empty()) {
      boost::beast::error_code ec;
      auto used = parser.put(net::asio::buffer(pending.data(), pending.size()), ec);
      pending.erase(0, used);
      if (!ec && parser.is_done()) co_return parser.release();
      if (ec && ec != http::error::need_more) {
        bool too_big = ec == http::error::body_limit || ec == http::error::header_limit;
        auto res =
            too_big
                ? error_reply(413,
                              fmt::format("the request is larger than the admin API "
                                          "takes ({} KiB of header, {} KiB of body)",
                                          max_header_bytes / 1024, max_body_bytes / 1024),
                              false)
                : error_reply(400, fmt::format("not an HTTP/1.1 request: {}", ec.message()), false);
        std::ostringstream os;
        os << res;
        auto text = os.str();
        co_await s.conn->write(text);
        co_return std::nullopt;
      }
      if (!ec && used > 0) continue;  // the parser took a piece; offer the rest
    }
    // Before the first byte the client may idle; once it started, the whole
    // request must arrive within request_timeout.
    auto until = started ? deadline : net::connection::clock::now() + idle_timeout;
    s.conn->set_idle(!started);
    std::string_view chunk;
    auto st = co_await s.conn->read_some(chunk, until);
    s.conn->set_idle(false);
    if (st != net::read_status::ok) co_return std::nullopt;
    if (!started) deadline = net::connection::clock::now() + request_timeout;
    started = true;
    pending.append(chunk);
  }
}

}  // namespace

net::awaitable<void> run_api_session(api_context& api, std::shared_ptr<net::connection> conn,
                                     const net::listener_spec& listener) {
  api_state s{api, conn, observe::new_session_id()};
  conn->set_timeout(request_timeout);
  auto admitted = api.node.svc.registry.admit("admin", conn->remote_ip(), max_api_connections,
                                              max_api_connections);
  if (listener.tls == net::tls_mode::implicit) {
    conn->set_phase_deadline(net::connection::clock::now() + request_timeout);
    bool ok = co_await conn->start_tls();
    if (!ok) {
      observe::log_limited(fmt::format("admin tls {}", conn->remote_ip()), observe::level::info,
                           "admin", s.id, "TLS handshake failed from {}: {}", conn->remote_ip(),
                           conn->tls_failure());
      co_return;
    }
    conn->clear_phase_deadline();
  }
  if (!admitted) {
    auto res = error_reply(503, admitted.err().message, false);
    std::ostringstream os;
    os << res;
    auto text = os.str();
    co_await conn->write(text);
    co_return;
  }
  std::string pending;
  while (!conn->interrupted()) {
    auto req = co_await read_request(s, pending);
    if (!req) break;
    auto started = std::chrono::steady_clock::now();
    response res;
    std::string failure_text;
    try {
      res = co_await answer(s, *req);
    } catch (const std::exception& e) {
      failure_text = e.what();
    }
    if (!failure_text.empty()) {
      observe::log(
          observe::level::error, "admin", s.id, "{} {} failed: {}",
          std::string(req->method_string()),
          base::printable(std::string_view(req->target().data(), req->target().size()), 200),
          base::printable(failure_text, 300));
      res = error_reply(500, fmt::format("internal error (session {})", s.id), false);
    }
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - started)
                  .count();
    auto cert = conn->verified_client_certificate();
    observe::log(observe::level::info, "admin", s.id, "{}{} {} {} -> {} ({} ms)", conn->remote_ip(),
                 cert.empty() ? "" : " (certificate " + base::printable(cert, 200) + ")",
                 std::string(req->method_string()),
                 base::printable(std::string_view(req->target().data(), req->target().size()), 200),
                 res.result_int(), ms);
    if (req->method() == http::verb::head) res.body().clear();
    std::ostringstream os;
    os << res;
    auto text = os.str();
    bool sent = co_await conn->write(text);
    if (!sent || !res.keep_alive()) break;
  }
  conn->close();
}

}  // namespace postern::admin
