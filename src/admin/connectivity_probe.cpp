#include "admin/connectivity_probe.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <functional>
#include <regex>

#include "admin/probe_client.hpp"
#include "base/strings.hpp"

namespace postern::admin {

namespace {

using clock = std::chrono::steady_clock;

// What to check next for a refusal, from its response code and words.
std::string advice_for(const std::string& reply, const std::string& user) {
  std::string out;
  std::smatch m;
  static const std::regex session_re("session ([0-9A-Fa-f]{8,})");
  auto has = [&](std::string_view code) { return reply.find(code) != std::string::npos; };
  if (has("[SYS/TEMP]") || has("[UNAVAILABLE]") || reply.starts_with("421") ||
      has("out of service"))
    out =
        "the server refuses for now: on a Postern node `postern component get` and `postern "
        "node status` say why";
  else if (has("[IN-USE]") || has("[LIMIT]") || has("max_connections"))
    out = fmt::format("a limit refused it (the reply names the setting): `postern user stat {}`",
                      user.empty() ? "USER" : user);
  else if (has("disabled for the mailbox") || has("[CONTACTADMIN]"))
    out = "the protocol is switched off for this mailbox: `postern user set ADDRESS --PROTOCOL on`";
  else if (has("[PRIVACYREQUIRED]") || has("LOGINDISABLED") || has("after TLS") ||
           has("STARTTLS first"))
    out = "the server takes passwords only over TLS: use --tls starttls or --tls implicit";
  else if (has("[AUTH]") || has("AUTHENTICATIONFAILED") || reply.starts_with("535") ||
           has("Too many failed logins"))
    out = fmt::format(
        "the name or password is wrong, or the address or account is slowed or blocked: `postern "
        "log search --user {} --failed`, `postern block list`",
        user.empty() ? "USER" : user);
  if (std::regex_search(reply, m, session_re))
    out += fmt::format("{}the node's log has this session: `postern log search --session {}`",
                       out.empty() ? "" : "; ", m[1].str());
  return out;
}

class dialogue {
 public:
  dialogue(const probe_options& o, probe_report& r) : o_(o), r_(r) {}

  // Runs one step; false stops the test.
  bool step(std::string name,
            const std::function<bool(std::string& detail, std::string& advice)>& f) {
    auto t0 = clock::now();
    probe_step s;
    s.name = std::move(name);
    s.ok = f(s.detail, s.advice);
    s.took = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - t0);
    r_.steps.push_back(std::move(s));
    return r_.steps.back().ok;
  }

  // A failed read or write: the words, and advice that fits a dropped connection.
  bool io_failed(const base::error& e, std::string& detail, std::string& advice) {
    detail = e.message;
    advice =
        "the server dropped or stalled the connection: on a Postern node `postern log "
        "search` and the node's log name the session and why";
    return false;
  }

  bool expect(std::string_view prefix, std::string& detail, std::string& advice) {
    auto line = c.read_line();
    if (!line) return io_failed(line.err(), detail, advice);
    detail = base::printable(*line, 300);
    if (line->starts_with(prefix)) return true;
    advice = advice_for(*line, o_.user);
    return false;
  }

  // An SMTP/LMTP reply, all its lines; true when its code starts with `good`.
  bool smtp_reply(char good, std::string& detail, std::string& advice,
                  std::vector<std::string>* lines = nullptr) {
    for (;;) {
      auto line = c.read_line();
      if (!line) return io_failed(line.err(), detail, advice);
      if (lines && line->size() > 4) lines->push_back(line->substr(4));
      if (line->size() < 3) {
        detail = base::printable(*line, 300);
        return false;
      }
      if (line->size() > 3 && (*line)[3] == '-') continue;
      detail = base::printable(*line, 300);
      if ((*line)[0] == good) return true;
      advice = advice_for(*line, o_.user);
      return false;
    }
  }

  bool tls_steps(const std::string& host) {
    bool ok = step("tls handshake", [&](std::string& d, std::string& a) {
      auto s = c.start_tls(host, o_.ca_file);
      if (!s) {
        d = s.err().message;
        a = "the server's TLS does not meet this client's (TLS 1.2 or 1.3): on a Postern node "
            "check [tls] in postern.toml and `postern cert`";
        return false;
      }
      d = fmt::format("{} {}", c.facts().version, c.facts().cipher);
      return true;
    });
    if (!ok) return false;
    if (!o_.judge_certificate) return true;
    return step("certificate", [&](std::string& d, std::string& a) {
      auto& f = c.facts();
      d = fmt::format("{}; not after {} ({} days){}{}",
                      f.chain.empty() ? "no certificate" : f.chain.front(), f.not_after,
                      f.days_left, f.self_signed ? "; self-signed" : "",
                      f.chain.size() > 1 ? fmt::format("; chain of {}", f.chain.size()) : "");
      std::vector<std::string> problems;
      if (!f.verify_error.empty()) problems.push_back("not trusted: " + f.verify_error);
      if (!f.name_matches) problems.push_back(fmt::format("does not name {}", host));
      if (f.days_left < 0) problems.push_back("expired");
      if (problems.empty()) return true;
      d += "; " + fmt::format("{}", fmt::join(problems, "; "));
      a = f.self_signed ? "clients will warn about a self-signed certificate: install one from a "
                          "CA, or trust this one (--ca-file CERT) where that is intended"
                        : "install a certificate that names the host clients use, from a CA they "
                          "trust, and check its expiry";
      return false;
    });
  }

  probe_client c;

 private:
  const probe_options& o_;
  probe_report& r_;
};

std::string imap_quoted(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "\"";
}

void pop3_dialogue(dialogue& d, const probe_options& o) {
  if (!d.step("greeting", [&](auto& det, auto& adv) { return d.expect("+OK", det, adv); })) return;
  auto capa = [&](auto& det, auto& adv) {
    if (auto s = d.c.send("CAPA\r\n"); !s) return d.io_failed(s.err(), det, adv);
    if (!d.expect("+OK", det, adv)) return false;
    std::vector<std::string> caps;
    for (;;) {
      auto line = d.c.read_line();
      if (!line) return d.io_failed(line.err(), det, adv);
      if (*line == ".") break;
      caps.push_back(base::printable(*line, 60));
    }
    det = fmt::format("{}", fmt::join(caps, ", "));
    return true;
  };
  if (!d.step("capabilities", capa)) return;
  if (o.tls == probe_tls::starttls) {
    if (!d.step("stls", [&](auto& det, auto& adv) {
          if (auto s = d.c.send("STLS\r\n"); !s) return d.io_failed(s.err(), det, adv);
          return d.expect("+OK", det, adv);
        }))
      return;
    if (!d.tls_steps(o.host)) return;
    if (!d.step("capabilities after tls", capa)) return;
  }
  if (o.user.empty()) return;
  if (!d.step("login", [&](auto& det, auto& adv) {
        if (auto s = d.c.send(fmt::format("USER {}\r\n", o.user)); !s)
          return d.io_failed(s.err(), det, adv);
        if (!d.expect("+OK", det, adv)) return false;
        if (auto s = d.c.send(fmt::format("PASS {}\r\n", o.password)); !s)
          return d.io_failed(s.err(), det, adv);
        return d.expect("+OK", det, adv);
      }))
    return;
  long count = 0;
  if (!d.step("stat", [&](auto& det, auto& adv) {
        if (auto s = d.c.send("STAT\r\n"); !s) return d.io_failed(s.err(), det, adv);
        if (!d.expect("+OK", det, adv)) return false;
        std::sscanf(det.c_str(), "+OK %ld", &count);
        return true;
      }))
    return;
  if (!d.step("fetch one message", [&](auto& det, auto& adv) {
        if (count == 0) {
          det = "the mailbox is empty: nothing to fetch";
          return true;
        }
        if (auto s = d.c.send("TOP 1 0\r\n"); !s) return d.io_failed(s.err(), det, adv);
        if (!d.expect("+OK", det, adv)) return false;
        size_t bytes = 0;
        for (;;) {
          auto line = d.c.read_line();
          if (!line) return d.io_failed(line.err(), det, adv);
          if (*line == ".") break;
          bytes += line->size() + 2;
        }
        det = fmt::format("message 1's header: {} bytes", bytes);
        return true;
      }))
    return;
  d.step("logout", [&](auto& det, auto& adv) {
    if (auto s = d.c.send("QUIT\r\n"); !s) return d.io_failed(s.err(), det, adv);
    return d.expect("+OK", det, adv);
  });
}

// Reads an IMAP command's responses up to its tagged reply (literals read
// whole); true for OK.
bool imap_wait(dialogue& d, const std::string& tag, std::string& det, std::string& adv,
               std::vector<std::string>* untagged = nullptr) {
  for (;;) {
    auto line = d.c.read_line();
    if (!line) return d.io_failed(line.err(), det, adv);
    // A literal {n} at the end of a line: its bytes, then the rest of the response.
    while (line->size() > 2 && line->back() == '}') {
      auto open = line->rfind('{');
      auto n =
          open == std::string::npos
              ? std::nullopt
              : base::parse_u64(std::string_view(*line).substr(open + 1, line->size() - open - 2));
      if (!n) break;
      auto bytes = d.c.read_bytes(*n);
      if (!bytes) return d.io_failed(bytes.err(), det, adv);
      auto rest = d.c.read_line();
      if (!rest) return d.io_failed(rest.err(), det, adv);
      *line = line->substr(0, open) + fmt::format("<{} bytes>", *n) + *rest;
    }
    if (line->starts_with(tag + " ")) {
      det = base::printable(*line, 300);
      if (line->compare(tag.size() + 1, 2, "OK") == 0) return true;
      adv = advice_for(*line, "");
      return false;
    }
    if (untagged) untagged->push_back(*line);
  }
}

void imap_dialogue(dialogue& d, const probe_options& o) {
  if (!d.step("greeting", [&](auto& det, auto& adv) { return d.expect("* OK", det, adv); })) return;
  int n = 0;
  auto next_tag = [&] { return fmt::format("t{}", ++n); };
  auto command = [&](std::string text, std::vector<std::string>* untagged = nullptr) {
    return [&, text, untagged](std::string& det, std::string& adv) {
      auto tag = next_tag();
      if (auto s = d.c.send(tag + " " + text + "\r\n"); !s) return d.io_failed(s.err(), det, adv);
      bool ok = imap_wait(d, tag, det, adv, untagged);
      if (!ok && adv.empty()) adv = advice_for(det, o.user);
      return ok;
    };
  };
  std::vector<std::string> caps;
  auto capability = [&](std::string& det, std::string& adv) {
    caps.clear();
    if (!command("CAPABILITY", &caps)(det, adv)) return false;
    for (auto& c : caps)
      if (c.starts_with("* CAPABILITY ")) det = base::printable(c.substr(13), 300);
    return true;
  };
  if (!d.step("capabilities", capability)) return;
  if (o.tls == probe_tls::starttls) {
    if (!d.step("starttls", command("STARTTLS"))) return;
    if (!d.tls_steps(o.host)) return;
    if (!d.step("capabilities after tls", capability)) return;
  }
  if (o.user.empty()) return;
  if (!d.step("login",
              command(fmt::format("LOGIN {} {}", imap_quoted(o.user), imap_quoted(o.password)))))
    return;
  std::vector<std::string> selected;
  long exists = 0;
  if (!d.step("examine inbox", [&](auto& det, auto& adv) {
        if (!command("EXAMINE INBOX", &selected)(det, adv)) return false;
        for (auto& l : selected) std::sscanf(l.c_str(), "* %ld EXISTS", &exists);
        det = fmt::format("{} messages; {}", exists, det);
        return true;
      }))
    return;
  if (!d.step("fetch one message", [&](auto& det, auto& adv) {
        if (exists == 0) {
          det = "the mailbox is empty: nothing to fetch";
          return true;
        }
        return command("FETCH 1 (RFC822.SIZE BODY.PEEK[HEADER])")(det, adv);
      }))
    return;
  d.step("logout", command("LOGOUT"));
}

void smtp_dialogue(dialogue& d, const probe_options& o) {
  bool lmtp = o.protocol == "lmtp";
  if (!d.step("greeting", [&](auto& det, auto& adv) { return d.smtp_reply('2', det, adv); }))
    return;
  std::vector<std::string> ext;
  auto hello = [&](std::string& det, std::string& adv) {
    ext.clear();
    auto verb = lmtp ? "LHLO" : "EHLO";
    if (auto s = d.c.send(fmt::format("{} postern-test.invalid\r\n", verb)); !s)
      return d.io_failed(s.err(), det, adv);
    if (!d.smtp_reply('2', det, adv, &ext)) return false;
    det = fmt::format("{}", fmt::join(ext, ", "));
    return true;
  };
  if (!d.step("capabilities", hello)) return;
  if (o.tls == probe_tls::starttls) {
    if (!d.step("starttls", [&](auto& det, auto& adv) {
          if (auto s = d.c.send("STARTTLS\r\n"); !s) return d.io_failed(s.err(), det, adv);
          return d.smtp_reply('2', det, adv);
        }))
      return;
    if (!d.tls_steps(o.host)) return;
    if (!d.step("capabilities after tls", hello)) return;
  }
  if (!o.user.empty() && !lmtp) {
    if (!d.step("login", [&](auto& det, auto& adv) {
          std::string plain = std::string(1, '\0') + o.user + std::string(1, '\0') + o.password;
          if (auto s = d.c.send("AUTH PLAIN " + base::base64_encode(plain) + "\r\n"); !s)
            return d.io_failed(s.err(), det, adv);
          return d.smtp_reply('2', det, adv);
        }))
      return;
  }
  if (!o.user.empty() && lmtp) {
    // LMTP has no login: the recipient check says whether the mailbox exists.
    if (!d.step("recipient", [&](auto& det, auto& adv) {
          if (auto s = d.c.send("MAIL FROM:<>\r\n"); !s) return d.io_failed(s.err(), det, adv);
          if (!d.smtp_reply('2', det, adv)) return false;
          if (auto s = d.c.send(fmt::format("RCPT TO:<{}>\r\n", o.user)); !s)
            return d.io_failed(s.err(), det, adv);
          bool ok = d.smtp_reply('2', det, adv);
          if (!ok && adv.empty())
            adv = fmt::format("the server has no mailbox {}: `postern user list`", o.user);
          if (auto s = d.c.send("RSET\r\n"); !s) return d.io_failed(s.err(), det, adv);
          std::string ignored, ignored_advice;
          d.smtp_reply('2', ignored, ignored_advice);
          return ok;
        }))
      return;
  }
  d.step("logout", [&](auto& det, auto& adv) {
    if (auto s = d.c.send("QUIT\r\n"); !s) return d.io_failed(s.err(), det, adv);
    return d.smtp_reply('2', det, adv);
  });
}

}  // namespace

uint16_t standard_port(const std::string& protocol, probe_tls tls) {
  bool implicit = tls == probe_tls::implicit;
  if (protocol == "pop3") return implicit ? 995 : 110;
  if (protocol == "imap") return implicit ? 993 : 143;
  if (protocol == "smtp") return implicit ? 465 : 587;
  if (protocol == "lmtp") return 24;
  return 0;
}

probe_report run_probe(const probe_options& o) {
  probe_report r;
  dialogue d(o, r);
  uint16_t port = o.port ? o.port : standard_port(o.protocol, o.tls);
  std::vector<std::string> addresses;
  if (!d.step("resolve", [&](auto& det, auto& adv) {
        auto a = probe_client::resolve(o.host);
        if (!a) {
          det = a.err().message;
          adv = "check the host name, or give an IP address with --host";
          return false;
        }
        addresses = *a;
        det = fmt::format("{}", fmt::join(addresses, ", "));
        return !addresses.empty();
      }))
    return r;
  if (!d.step("connect", [&](auto& det, auto& adv) {
        auto s = d.c.connect(addresses.front(), port, o.timeout);
        if (!s) {
          det = s.err().message;
          adv = fmt::format(
              "nothing answers on {} port {}: is the server running (`postern node status`), is "
              "a listener configured for that port, and does a firewall let it through?",
              addresses.front(), port);
          return false;
        }
        det = fmt::format("{} port {}", addresses.front(), port);
        return true;
      }))
    return r;
  if (o.tls == probe_tls::implicit && !d.tls_steps(o.host)) return r;
  if (o.protocol == "pop3")
    pop3_dialogue(d, o);
  else if (o.protocol == "imap")
    imap_dialogue(d, o);
  else
    smtp_dialogue(d, o);
  return r;
}

}  // namespace postern::admin
