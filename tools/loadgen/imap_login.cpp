// imap-login: a login storm. Each round is a new connection (with its own
// TLS handshake under --tls implicit|starttls): greeting, LOGIN, LOGOUT.
#include "imap_response.hpp"

namespace loadgen {

namespace {

class imap_login final : public session_script {
 public:
  asio::awaitable<void> run(session_context& ctx) override {
    const auto start = clock_type::now();
    co_await imap_open_session(ctx);
    co_await imap_logout(ctx.conn);
    ctx.rec.latency("round", clock_type::now() - start);
    ctx.rec.add_items(1);
  }
};

}  // namespace

std::string run_imap_login(const options& opt) {
  recorder rec;
  const auto result = run_sessions(
      opt, [](int) { return std::make_unique<imap_login>(); }, rec);
  return finish(opt, result, rec);
}

}  // namespace loadgen
