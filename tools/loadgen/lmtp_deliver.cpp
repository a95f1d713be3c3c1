// lmtp-deliver: each session sends --messages messages over LMTP (RFC 2033),
// pipelining MAIL, RCPT and DATA when the server offers PIPELINING
// (RFC 2920), and waits for one reply per accepted recipient after the data.
// smtp-submit: the same over submission (RFC 6409): EHLO, STARTTLS, AUTH
// PLAIN as --user/--password, and one reply after the data.
#include <fmt/format.h>

#include <algorithm>

#include "messages.hpp"
#include "session.hpp"

namespace loadgen {

namespace {

struct reply {
  int code = 0;
  std::string text;  // every line, joined by '\n', without the codes
};

// One possibly multi-line reply (RFC 5321 §4.2.1).
asio::awaitable<reply> read_reply(connection& c) {
  reply r;
  for (;;) {
    const auto line = co_await c.read_line();
    if (line.size() < 3 || line[0] < '1' || line[0] > '5')
      throw protocol_error(fmt::format("bad reply: {}", line));
    r.code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (!r.text.empty()) r.text += '\n';
    if (line.size() > 4) r.text += line.substr(4);
    if (line.size() < 4 || line[3] != '-') co_return r;
  }
}

asio::awaitable<reply> expect(connection& c, int code, std::string_view what) {
  auto r = co_await read_reply(c);
  if (r.code != code) throw protocol_error(fmt::format("{}: {} {}", what, r.code, r.text));
  co_return r;
}

class lmtp_deliver final : public session_script {
 public:
  lmtp_deliver(const std::vector<message>& messages, bool submission)
      : messages_(messages), submission_(submission) {}

  asio::awaitable<void> run(session_context& ctx) override {
    auto& c = ctx.conn;
    co_await expect(c, 220, "greeting");
    auto caps = co_await hello(c);
    if (ctx.opt.tls == tls_mode::starttls) {
      co_await c.write("STARTTLS\r\n");
      co_await expect(c, 220, "STARTTLS");
      co_await c.start_tls(ctx.opt.server_name);
      caps = co_await hello(c);
    }
    if (submission_) {
      const auto user = expand(ctx.opt.user, ctx.number);
      std::string plain;
      plain += '\0';
      plain += user;
      plain += '\0';
      plain += expand(ctx.opt.password, ctx.number);
      co_await c.write(fmt::format("AUTH PLAIN {}\r\n", base64(plain)));
      co_await expect(c, 235, "AUTH");
      from_ = user;
    } else {
      from_ = ctx.opt.mail_from;
    }
    pipelining_ = caps.find("PIPELINING") != std::string::npos;
    ctx.rec.set_field("pipelining", pipelining_ ? "true" : "false");

    std::vector<std::string> rcpts;
    for (int j = 0; j < ctx.opt.rcpts_per_message; ++j) {
      const auto& pattern = ctx.opt.rcpts[(ctx.number - 1 + j) % ctx.opt.rcpts.size()];
      rcpts.push_back(expand(pattern, ctx.number));
    }
    for (int m = 0; m < ctx.opt.messages; ++m) {
      const auto& msg = messages_[((ctx.number - 1) * ctx.opt.messages + m) % messages_.size()];
      const auto start = clock_type::now();
      if (co_await deliver(ctx, msg, rcpts)) {
        ctx.rec.latency("message", clock_type::now() - start);
        ctx.rec.add_items(1);
        ctx.rec.add_bytes(msg.size);
      }
    }
    co_await c.write("QUIT\r\n");
    co_await expect(c, 221, "QUIT");
  }

 private:
  asio::awaitable<std::string> hello(connection& c) {
    co_await c.write(submission_ ? "EHLO loadgen.localhost\r\n" : "LHLO loadgen.localhost\r\n");
    co_return (co_await expect(c, 250, submission_ ? "EHLO" : "LHLO")).text;
  }

  static std::string base64(std::string_view in) {
    static constexpr char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (std::size_t i = 0; i < in.size(); i += 3) {
      std::uint32_t v = static_cast<unsigned char>(in[i]) << 16;
      if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
      if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
      out += digits[(v >> 18) & 63];
      out += digits[(v >> 12) & 63];
      out += i + 1 < in.size() ? digits[(v >> 6) & 63] : '=';
      out += i + 2 < in.size() ? digits[v & 63] : '=';
    }
    return out;
  }

  // One transaction; true when every recipient got a 2xx after the data.
  asio::awaitable<bool> deliver(session_context& ctx, const message& msg,
                                const std::vector<std::string>& rcpts) {
    auto& c = ctx.conn;
    std::vector<std::string> commands;
    commands.push_back(fmt::format("MAIL FROM:<{}>\r\n", from_));
    for (const auto& r : rcpts) commands.push_back(fmt::format("RCPT TO:<{}>\r\n", r));
    commands.push_back("DATA\r\n");

    std::vector<reply> replies;
    if (pipelining_) {
      std::string batch;
      for (const auto& cmd : commands) batch += cmd;
      co_await c.write(batch);
      for (std::size_t i = 0; i < commands.size(); ++i) replies.push_back(co_await read_reply(c));
    } else {
      for (std::size_t i = 0; i < commands.size(); ++i) {
        const bool is_data = i + 1 == commands.size();
        if (is_data && std::none_of(replies.begin() + 1, replies.end(),
                                    [](auto& r) { return r.code / 100 == 2; }))
          break;
        co_await c.write(commands[i]);
        replies.push_back(co_await read_reply(c));
        if (i == 0 && replies[0].code != 250) break;
      }
    }
    std::size_t accepted = 0;
    for (std::size_t i = 1; i < replies.size() && i <= rcpts.size(); ++i) {
      if (replies[i].code / 100 == 2) {
        ++accepted;
      } else {
        ctx.rec.error(
            fmt::format("RCPT TO:<{}>: {} {}", rcpts[i - 1], replies[i].code, replies[i].text));
      }
    }
    const bool data_ok = replies.size() == commands.size() && replies.back().code == 354;
    if (!data_ok) {
      const auto& last = replies.back();
      ctx.rec.error(fmt::format("transaction refused: {} {}", last.code, last.text));
      co_await c.write("RSET\r\n");
      co_await read_reply(c);
      co_return false;
    }
    if (accepted == 0) throw protocol_error("354 to DATA after every recipient was refused");
    co_await c.write(msg.wire, ".\r\n");
    bool all_delivered = true;
    // RFC 2033 §4.2: LMTP gives one reply per accepted recipient, SMTP one.
    const std::size_t replies_after_data = submission_ ? 1 : accepted;
    for (std::size_t i = 0; i < replies_after_data; ++i) {
      const auto r = co_await read_reply(c);
      if (r.code / 100 != 2) {
        ctx.rec.error(fmt::format("after DATA: {} {}", r.code, r.text));
        all_delivered = false;
      }
    }
    co_return all_delivered&& accepted == rcpts.size();
  }

  const std::vector<message>& messages_;
  bool submission_ = false;
  bool pipelining_ = false;
  std::string from_;
};

}  // namespace

std::string run_lmtp_deliver(const options& opt, bool submission) {
  recorder rec;
  const auto messages = load_messages(opt);
  const auto result = run_sessions(
      opt, [&](int) { return std::make_unique<lmtp_deliver>(messages, submission); }, rec);
  return finish(opt, result, rec);
}

}  // namespace loadgen
