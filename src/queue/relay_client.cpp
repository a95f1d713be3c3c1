#include "queue/relay_client.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "admin/probe_client.hpp"
#include "base/strings.hpp"

namespace postern::queue {

namespace {

using namespace std::chrono_literals;

// RFC 5321 §4.5.3.2's timeouts, shortened where a smarthost answers at once.
constexpr auto command_timeout = 5min;
constexpr auto data_end_timeout = 10min;
constexpr auto connect_timeout = 30s;

struct reply {
  int code = 0;
  std::string text;                // every line, joined by " / " without the codes' dashes
  std::vector<std::string> lines;  // the text of each line
};

// A session-level failure: the words for every recipient, and whether it is
// final (a 5xx to MAIL, or a message the relay cannot take as it is).
struct session_failure {
  int code = 0;
  std::string words;
};

class smtp_client {
 public:
  explicit smtp_client(admin::probe_client& c) : c_(c) {}

  base::result<reply> read_reply() {
    reply r;
    for (int n = 0; n < 1000; ++n) {
      auto line = c_.read_line();
      if (!line) return line.err();
      if (line->size() < 3 || !std::isdigit(static_cast<unsigned char>((*line)[0])))
        return base::error{base::errc::temporary,
                           fmt::format("the relay sent a line that is not an SMTP reply: \"{}\"",
                                       base::printable(*line, 80)),
                           ""};
      r.code = std::atoi(line->substr(0, 3).c_str());
      auto text = line->size() > 4 ? line->substr(4) : std::string();
      r.lines.push_back(text);
      if (!r.text.empty()) r.text += " / ";
      r.text += fmt::format("{} {}", r.code, text);
      if (line->size() == 3 || (*line)[3] != '-') return r;
    }
    return base::error{base::errc::temporary, "the relay's reply has over 1000 lines", ""};
  }

  base::result<reply> command(const std::string& line) {
    if (auto s = c_.send(line + "\r\n"); !s) return s.err();
    return read_reply();
  }

 private:
  admin::probe_client& c_;
};

bool offers(const std::vector<std::string>& extensions, std::string_view keyword) {
  for (auto& line : extensions) {
    auto words = base::split(line, ' ');
    if (!words.empty() && base::iequals(words[0], keyword)) return true;
  }
  return false;
}

// Streams the file dot-stuffed (RFC 5321 §4.5.2), then the end of data.
base::status send_body(admin::probe_client& c, const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return base::error{
        base::errc::io_error,
        fmt::format("cannot open the queued message {}: {}", path, std::strerror(errno)), ""};
  char in[64 * 1024];
  std::string out;
  bool line_start = true;
  char last = '\n';
  base::status result = base::ok_status();
  while (true) {
    auto n = ::read(fd, in, sizeof in);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      result = base::error{
          base::errc::io_error,
          fmt::format("cannot read the queued message {}: {}", path, std::strerror(errno)), ""};
      break;
    }
    if (n == 0) break;
    out.clear();
    for (ssize_t i = 0; i < n; ++i) {
      if (line_start && in[i] == '.') out += '.';
      out += in[i];
      line_start = in[i] == '\n';
    }
    last = in[n - 1];
    if (auto s = c.send(out); !s) {
      result = s;
      break;
    }
  }
  ::close(fd);
  if (!result) return result;
  return c.send(last == '\n' ? ".\r\n" : "\r\n.\r\n");
}

std::string mail_parameters(const queued_message& m, const std::vector<std::string>& ehlo) {
  std::string p;
  if (offers(ehlo, "SIZE")) p += fmt::format(" SIZE={}", m.size);
  if (offers(ehlo, "8BITMIME")) p += " BODY=8BITMIME";
  if (m.smtputf8) p += " SMTPUTF8";
  if (m.requiretls) p += " REQUIRETLS";
  if (offers(ehlo, "DSN")) {
    if (!m.ret.empty()) p += " RET=" + m.ret;
    if (!m.envid.empty()) p += " ENVID=" + m.envid;
  }
  return p;
}

std::string rcpt_parameters(const queued_recipient& r, const std::vector<std::string>& ehlo) {
  std::string p;
  if (!offers(ehlo, "DSN")) return p;
  if (!r.notify.empty()) p += " NOTIFY=" + r.notify;
  if (!r.orcpt.empty()) p += " ORCPT=" + r.orcpt;
  return p;
}

}  // namespace

const char* tls_mode_name(relay_config::tls_mode m) {
  switch (m) {
    case relay_config::tls_mode::starttls:
      return "starttls";
    case relay_config::tls_mode::implicit:
      return "implicit";
    case relay_config::tls_mode::none:
      return "none";
  }
  return "?";
}

relay_session::relay_session(const relay_config& cfg, std::string password, std::string helo)
    : cfg_(cfg), password_(std::move(password)), helo_(std::move(helo)) {}

relay_session::~relay_session() { close(); }

void relay_session::drop_client() {
  std::lock_guard lock(client_mu_);
  c_.reset();
  ready_ = false;
}

void relay_session::interrupt() {
  std::lock_guard lock(client_mu_);
  if (c_) c_->abort();
}

void relay_session::close() {
  if (c_ && ready_) {
    c_->set_timeout(10s);
    smtp_client smtp(*c_);
    (void)smtp.command("QUIT");
  }
  drop_client();
  ready_ = false;
}

std::optional<relay_session::failure> relay_session::connect() {
  {
    std::lock_guard lock(client_mu_);
    c_ = std::make_unique<admin::probe_client>();
  }
  auto& c = *c_;
  remote_ = fmt::format("{}:{}", cfg_.host, cfg_.port);
  auto ips = admin::probe_client::resolve(cfg_.host);
  if (!ips) return failure{0, ips.err().message};
  base::status connected = base::error{base::errc::unavailable, "no address", ""};
  for (auto& ip : *ips) {
    connected = c.connect(ip, cfg_.port, connect_timeout);
    if (connected) {
      remote_ = fmt::format("{} [{}]:{}", cfg_.host, ip, cfg_.port);
      break;
    }
  }
  if (!connected) return failure{0, "cannot connect to the relay: " + connected.err().message};
  c.set_timeout(command_timeout);
  auto tls_checked = [&]() -> std::optional<failure> {
    auto& f = c.facts();
    if (!f.verify_error.empty())
      return failure{0, fmt::format("the relay's certificate is not trusted ({}); set [relay] "
                                    "ca_file to the CA that issued it",
                                    f.verify_error)};
    if (!f.name_matches)
      return failure{
          0, fmt::format("the relay's certificate does not name {} ([relay] host)", cfg_.host)};
    return std::nullopt;
  };
  if (cfg_.tls == relay_config::tls_mode::implicit) {
    if (auto s = c.start_tls(cfg_.host, cfg_.ca_file); !s) return failure{0, s.err().message};
    if (auto bad = tls_checked()) return bad;
  }
  smtp_client smtp(c);
  auto greeting = smtp.read_reply();
  if (!greeting) return failure{0, greeting.err().message};
  if (greeting->code != 220)
    return failure{0, "the relay refused the connection: " + greeting->text};
  auto ehlo = smtp.command("EHLO " + helo_);
  if (!ehlo) return failure{0, ehlo.err().message};
  if (ehlo->code != 250) return failure{0, "the relay refused EHLO: " + ehlo->text};
  extensions_.assign(ehlo->lines.begin() + 1, ehlo->lines.end());
  if (cfg_.tls == relay_config::tls_mode::starttls) {
    if (!offers(extensions_, "STARTTLS"))
      return failure{0, "the relay does not offer STARTTLS, and [relay] tls = \"starttls\""};
    auto go = smtp.command("STARTTLS");
    if (!go) return failure{0, go.err().message};
    if (go->code != 220) return failure{0, "the relay refused STARTTLS: " + go->text};
    if (auto st = c.start_tls(cfg_.host, cfg_.ca_file); !st) return failure{0, st.err().message};
    if (auto bad = tls_checked()) return bad;
    ehlo = smtp.command("EHLO " + helo_);
    if (!ehlo) return failure{0, ehlo.err().message};
    if (ehlo->code != 250)
      return failure{0, "the relay refused EHLO after STARTTLS: " + ehlo->text};
    extensions_.assign(ehlo->lines.begin() + 1, ehlo->lines.end());
  }
  if (!cfg_.username.empty()) {
    std::string plain;
    plain += '\0';
    plain += cfg_.username;
    plain += '\0';
    plain += password_;
    auto a = smtp.command("AUTH PLAIN " + base::base64_encode(plain));
    if (!a) return failure{0, a.err().message};
    if (a->code != 235)
      return failure{0, fmt::format("the relay refused AUTH for [relay] username \"{}\": {}",
                                    cfg_.username, a->text)};
  }
  ready_ = true;
  return std::nullopt;
}

relay_attempt relay_session::send(const queued_message& m, const std::string& path) {
  if (!ready_) {
    if (auto bad = connect()) {
      relay_attempt out;
      out.remote = remote_;
      for (auto& r : m.recipients) out.outcomes.push_back({r.id, bad->code, bad->words});
      drop_client();
      return out;
    }
  }
  auto out = transaction(m, path);
  return out;
}

relay_attempt relay_session::transaction(const queued_message& m, const std::string& path) {
  relay_attempt out;
  out.remote = remote_;
  out.relay_does_dsn = offers(extensions_, "DSN");
  auto& c = *c_;
  smtp_client smtp(c);
  // A failure of the connection itself: every recipient gets it, and the
  // next message starts a new connection.
  auto broken = [&](const std::string& words) {
    out.outcomes.clear();
    for (auto& r : m.recipients) out.outcomes.push_back({r.id, 0, words});
    drop_client();
    ready_ = false;
    return out;
  };
  auto all = [&](int code, const std::string& words) {
    out.outcomes.clear();
    for (auto& r : m.recipients) out.outcomes.push_back({r.id, code, words});
    return out;
  };
  // RFC 8689 §4.2: a REQUIRETLS message goes only over verified TLS to a
  // server that promises to keep requiring it.
  if (m.requiretls && (!c.tls() || !offers(extensions_, "REQUIRETLS")))
    return all(550, fmt::format("550 5.7.30 REQUIRETLS: the relay {} {}", cfg_.host,
                                c.tls() ? "does not offer REQUIRETLS" : "is reached without TLS"));
  if (m.smtputf8 && !offers(extensions_, "SMTPUTF8"))
    return all(553,
               "553 5.6.7 the message needs SMTPUTF8 (RFC 6531), which the relay does not offer");
  c.set_timeout(command_timeout);
  // RFC 2920: with PIPELINING, MAIL, every RCPT and DATA go in one write and
  // their replies are read in order; without it, one at a time.
  bool pipelining = offers(extensions_, "PIPELINING");
  std::vector<std::string> commands;
  commands.push_back(fmt::format("MAIL FROM:<{}>{}", m.sender, mail_parameters(m, extensions_)));
  for (auto& r : m.recipients)
    commands.push_back(fmt::format("RCPT TO:<{}>{}", r.address, rcpt_parameters(r, extensions_)));
  commands.push_back("DATA");
  if (pipelining) {
    std::string batch;
    for (auto& line : commands) batch += line + "\r\n";
    if (auto st = c.send(batch); !st) return broken(st.err().message);
  }
  auto next_reply = [&](size_t i) {
    return pipelining ? smtp.read_reply() : smtp.command(commands[i]);
  };
  auto mail = next_reply(0);
  if (!mail) return broken(mail.err().message);
  std::vector<bool> accepted(m.recipients.size(), false);
  size_t accepted_count = 0;
  out.outcomes.resize(m.recipients.size());
  if (mail->code != 250 && !pipelining) {
    (void)smtp.command("RSET");
    return all(mail->code >= 500 ? mail->code : 0, mail->text);
  }
  for (size_t i = 0; i < m.recipients.size(); ++i) {
    auto& r = m.recipients[i];
    out.outcomes[i].recipient_id = r.id;
    auto rc = next_reply(i + 1);
    if (!rc) return broken(rc.err().message);
    out.outcomes[i].code = rc->code;
    out.outcomes[i].reply = rc->text;
    if (mail->code == 250 && (rc->code == 250 || rc->code == 251)) {
      accepted[i] = true;
      ++accepted_count;
    }
  }
  if (!pipelining && accepted_count == 0) {
    (void)smtp.command("RSET");
    return out;
  }
  auto keep_rcpt_failures = [&](int code, const std::string& words) {
    for (size_t i = 0; i < m.recipients.size(); ++i)
      if (accepted[i]) out.outcomes[i] = {m.recipients[i].id, code, words};
    return out;
  };
  auto fail_accepted = [&](const std::string& words) {
    keep_rcpt_failures(0, words);
    drop_client();
    ready_ = false;
    return out;
  };
  auto data = next_reply(commands.size() - 1);
  if (!data) return fail_accepted(data.err().message);
  if (data->code == 354 && accepted_count == 0) {
    // A server that took DATA with no recipient: end it empty, send nothing.
    (void)smtp.command(".");
  }
  if (mail->code != 250) {
    (void)smtp.command("RSET");
    return all(mail->code >= 500 ? mail->code : 0, mail->text);
  }
  if (accepted_count == 0) {
    (void)smtp.command("RSET");
    return out;
  }
  if (data->code != 354) {
    (void)smtp.command("RSET");
    return keep_rcpt_failures(data->code >= 500 ? data->code : 0, data->text);
  }
  if (auto st = send_body(c, path); !st) return fail_accepted(st.err().message);
  c.set_timeout(data_end_timeout);
  auto done = smtp.read_reply();
  if (!done) return fail_accepted(done.err().message);
  return keep_rcpt_failures(done->code, done->text);
}

}  // namespace postern::queue
