// imap-commands: log in, then send each --command in turn and wait for its
// tagged reply, --loops times or until --duration has passed (pausing
// --interval-ms between passes: a latency probe beside another load).
#include <fmt/format.h>

#include <map>

#include "imap_response.hpp"

namespace loadgen {

namespace {

struct totals {
  std::uint64_t octets = 0;
  std::uint64_t untagged = 0;
};

class imap_commands final : public session_script {
 public:
  explicit imap_commands(std::map<std::string, totals>& per_label) : per_label_(per_label) {}

  asio::awaitable<void> run(session_context& ctx) override {
    auto& c = ctx.conn;
    co_await imap_open_session(ctx);
    const auto logged_in = clock_type::now();
    const auto until =
        logged_in + std::chrono::milliseconds(static_cast<long>(ctx.opt.duration_seconds * 1000));
    asio::steady_timer pause(co_await asio::this_coro::executor);
    int tag_number = 0;
    for (int pass = 0;; ++pass) {
      if (ctx.opt.duration_seconds > 0 ? clock_type::now() >= until : pass >= ctx.opt.loops) break;
      if (pass > 0 && ctx.opt.interval_ms > 0) {
        pause.expires_after(std::chrono::milliseconds(ctx.opt.interval_ms));
        co_await pause.async_wait(asio::use_awaitable);
      }
      for (const auto& [label, text] : ctx.opt.commands) {
        const auto tag = fmt::format("C{}", ++tag_number);
        const auto sent = clock_type::now();
        co_await c.write(fmt::format("{} {}\r\n", tag, text));
        const auto reply = co_await read_reply(c, tag);
        const auto done = clock_type::now();
        if (!is_tagged_ok(reply.status, tag)) {
          ctx.rec.error(fmt::format("{}: {}", label, reply.status));
          continue;
        }
        ctx.rec.latency(label, done - sent);
        ctx.rec.latency(label + "_first_byte", reply.first - sent);
        ctx.rec.add_bytes(reply.octets);
        ctx.rec.add_items(1);
        auto& t = per_label_[label];
        t.octets += reply.octets;
        t.untagged += reply.untagged;
      }
    }
    co_await imap_logout(c);
  }

 private:
  std::map<std::string, totals>& per_label_;
};

}  // namespace

std::string run_imap_commands(const options& opt) {
  recorder rec;
  std::map<std::string, totals> per_label;
  const auto result = run_sessions(
      opt, [&](int) { return std::make_unique<imap_commands>(per_label); }, rec);
  for (const auto& [label, t] : per_label) {
    rec.set_field("octets_" + label, std::to_string(t.octets));
    rec.set_field("untagged_" + label, std::to_string(t.untagged));
  }
  return finish(opt, result, rec);
}

}  // namespace loadgen
