// The IMAP command loop. IMAP is not line-based like POP3 and LMTP (tags,
// literals, IDLE, APPEND's streamed message), so it reads commands with its
// own reader (reader.hpp) but shares the engine's parts: the command table
// with its states and flags, the bounded output, the deadlines, shutdown,
// exception containment and the per-command observer.
#include "session/imap/session.hpp"

#include <fmt/format.h>

#include "base/strings.hpp"
#include "net/blocking.hpp"
#include "observe/log.hpp"
#include "proto/imap/mutf7.hpp"
#include "proto/imap/tokenizer.hpp"
#include "session/core/budget_gate.hpp"
#include "session/core/component_check.hpp"
#include "session/core/error_words.hpp"
#include "session/core/handshake.hpp"
#include "session/core/login.hpp"
#include "session/imap/commands.hpp"
#include "session/imap/contexts.hpp"
#include "session/imap/reader.hpp"
#include "session/imap/state.hpp"
#include "session/imap/sync.hpp"

namespace postern::session::imap {

void session::untagged(std::string_view text) {
  out += "* ";
  out += text;
  out += "\r\n";
}

namespace {
void complete(session& s, std::string_view status, std::string_view text) {
  if (status == "OK")
    s.note_status(status);
  else
    s.note_status(status, text);
  s.completion = fmt::format("{} {} {}\r\n", s.tag.empty() ? "*" : s.tag, status, text);
}
}  // namespace

void session::ok(std::string_view text) { complete(*this, "OK", text); }
void session::no(std::string_view text) { complete(*this, "NO", text); }
void session::bad(std::string_view text) { complete(*this, "BAD", text); }

bool session::plaintext_login_allowed() const {
  return core::plaintext_login_allowed(*conn, settings->login, settings->secure_networks);
}

std::string session::wire_name(std::string_view utf8) const {
  return utf8_accept ? std::string(utf8) : proto::imap::encode_mutf7(utf8);
}

namespace {

constexpr int max_bad_commands = 20;

const char* code_of(base::errc e) {
  switch (e) {
    case base::errc::not_found:
      return "[NONEXISTENT]";
    case base::errc::already_exists:
      return "[ALREADYEXISTS]";
    case base::errc::invalid_argument:
      return "[CLIENTBUG]";
    case base::errc::limit_exceeded:
      return "[LIMIT]";
    case base::errc::temporary:
    case base::errc::unavailable:
      return "[UNAVAILABLE]";
    case base::errc::corrupt:
      return "[CORRUPTION]";
    case base::errc::disk_full:
    case base::errc::over_quota:
      return "[OVERQUOTA]";
    case base::errc::too_big:
      return "[TOOBIG]";
    case base::errc::in_use:
      return "[INUSE]";
    case base::errc::no_permission:
      return "[NOPERM]";
    case base::errc::authentication_failed:
      return "[AUTHENTICATIONFAILED]";
    case base::errc::authorization_failed:
      return "[AUTHORIZATIONFAILED]";
    case base::errc::privacy_required:
      return "[PRIVACYREQUIRED]";
    case base::errc::expunge_issued:
      return "[EXPUNGEISSUED]";
    case base::errc::cannot:
      return "[CANNOT]";
    case base::errc::io_error:
      return "[SERVERBUG]";
  }
  return "[SERVERBUG]";
}

// What a command line is after its tag: the verb ("UID FETCH" as one) and
// its arguments without the final CRLF.
struct dispatch_line {
  std::string verb;
  std::string_view args;
};

std::optional<dispatch_line> split_command(std::string_view text, std::string& words) {
  proto::imap::cursor c(text);
  auto tag = c.read_tag();
  if (!tag) {
    words = tag.error().words;
    return std::nullopt;
  }
  if (auto sp = c.expect_sp("after the tag"); !sp) {
    words = sp.error().words;
    return std::nullopt;
  }
  auto verb = c.read_atom("a command name");
  if (!verb) {
    words = verb.error().words;
    return std::nullopt;
  }
  dispatch_line d{base::to_upper(*verb), {}};
  if (d.verb == "UID") {
    if (auto sp = c.expect_sp("after UID"); !sp) {
      words = sp.error().words;
      return std::nullopt;
    }
    auto sub = c.read_atom("a command after UID");
    if (!sub) {
      words = sub.error().words;
      return std::nullopt;
    }
    d.verb += " " + base::to_upper(*sub);
  }
  auto rest = c.rest();
  if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  d.args = rest;
  return d;
}

net::awaitable<void> run_loop(session& s, core::command_observer& observer) {
  auto& conn = *s.conn;
  int bad = 0;
  auto table = command_table();
  auto count_bad = [&] { return ++bad >= max_bad_commands; };
  while (!s.quit) {
    if (conn.interrupted()) {
      s.untagged(interrupted_goodbye(s));
      break;
    }
    if (!conn.has_buffered_line() || s.out.size() >= core::output_budget) {
      bool sent = co_await s.flush();
      if (!sent) break;
      if (!conn.has_buffered_input()) {
        if (s.out.capacity() > 16 * 1024) std::string().swap(s.out);
        conn.release_buffer();
      }
    }
    conn.set_idle(!conn.has_buffered_input());
    auto in = co_await read_command(s);
    conn.set_idle(false);
    using kind = command_input::kind;
    if (in.what == kind::closed) break;
    if (in.what == kind::interrupted) {
      s.untagged(interrupted_goodbye(s));
      break;
    }
    if (in.what == kind::timed_out) {
      observe::log(observe::level::info, "imap", s.id, "{} timed out after {}s", s.who(),
                   std::chrono::duration_cast<std::chrono::seconds>(conn.timeout()).count());
      s.untagged(
          fmt::format("BYE [UNAVAILABLE] Timed out after {}s without a complete command ({})",
                      std::chrono::duration_cast<std::chrono::seconds>(conn.timeout()).count(),
                      s.state == phase::not_authenticated ? "preauthenticated_timeout"
                                                          : "authenticated_timeout"));
      break;
    }
    s.tag = tag_of(in.text);
    s.completion.clear();
    if (in.what == kind::too_long || in.what == kind::literal_too_big ||
        in.what == kind::fatal_literal) {
      if (in.what == kind::literal_too_big)
        s.no(fmt::format("[TOOBIG] A literal of {} bytes is over max_command_size ({} bytes)",
                         in.literal.size, s.settings->max_command_size));
      else
        s.bad(fmt::format("[TOOBIG] Command is over max_command_size ({} bytes)",
                          s.settings->max_command_size));
      s.out += s.completion;
      if (in.what == kind::fatal_literal) {
        // RFC 7888 §4: the client sends a non-synchronizing literal anyway;
        // rather than read and drop it, the connection ends.
        s.untagged("BYE A non-synchronizing literal over the limit cannot be skipped; closing");
        break;
      }
      if (count_bad()) break;
      continue;
    }
    std::string words;
    auto d = split_command(in.text, words);
    if (!d) {
      s.bad(words);
      s.out += s.completion;
      if (count_bad()) break;
      continue;
    }
    s.append_literal = in.what == kind::append_literal;
    if (in.what == kind::append_literal) {
      if (d->verb != "APPEND" && d->verb != "REPLACE" && d->verb != "UID REPLACE") {
        s.bad("Only APPEND and REPLACE take a message literal");
        s.out += s.completion;
        break;
      }
      s.append_size = in.literal.size;
      s.append_sync = in.literal.sync;
      s.append_binary = in.literal.binary;
    } else {
      s.append_size = 0;
    }
    auto* row = core::find_row<session>(table, d->verb);
    if (!row) {
      s.bad(fmt::format("Unknown command {}", base::printable(d->verb, 40)));
      s.out += s.completion;
      if (in.what == kind::append_literal) break;  // its literal would follow
      if (count_bad()) break;
      continue;
    }
    if (!(row->states & s.state_bit())) {
      const char* need = s.state == phase::not_authenticated ? "Log in first"
                         : (row->states & static_cast<uint8_t>(phase::selected))
                             ? "Select a mailbox first"
                             : "Not allowed now";
      s.bad(fmt::format("{} is not allowed in this state: {}", row->verb, need));
      s.out += s.completion;
      if (in.what == kind::append_literal) break;
      if (count_bad()) break;
      continue;
    }
    bad = 0;
    if (!(row->flags & core::pipelined)) {
      bool sent = co_await s.flush();
      if (!sent) break;
    }
    bool measured = core::budgeted(s, row->flags, core::unbudgeted);
    std::optional<std::string> refused;
    if (measured) refused = co_await core::budget_admit(s, row->verb);
    auto started = std::chrono::steady_clock::now();
    auto waited_before = conn.io_wait();
    auto in_before = conn.bytes_in();
    auto out_before = conn.bytes_out() + s.out.size();
    s.status = {};
    bool condstore_before = s.condstore;
    std::string failure;
    s.command_started(row->verb);
    if (refused) {
      // RFC 5530 §3: LIMIT, "an operation has been denied because of a limit".
      s.no(fmt::format("[LIMIT] {}", *refused));
      // A non-synchronizing literal follows anyway (RFC 7888) and cannot be
      // told apart from commands: the session ends, as APPEND's own refusals do.
      if (s.append_literal && !s.append_sync) s.quit = true;
    } else {
      try {
        co_await row->run(s, d->args);
      } catch (const std::exception& e) {
        failure = e.what();
        if (failure.empty()) failure = "unknown exception";
      }
    }
    s.command_done();
    // The budget is charged once, after the contexts' re-evaluation below, or
    // when anything after the command throws (the concurrency slot comes back).
    bool charged = !measured || refused.has_value();
    auto spent = [&] {
      if (charged) return;
      charged = true;
      core::budget_spent(s, std::chrono::steady_clock::now() - started,
                         conn.io_wait() - waited_before);
    };
    struct charge_on_exit {
      decltype(spent)& f;
      ~charge_on_exit() {
        try {
          f();
        } catch (...) {
        }
      }
    } charge{spent};
    if (!failure.empty()) {
      spent();
      observe::log(observe::level::error, "imap", s.id, "{} failed for {}: {}", row->verb, s.who(),
                   base::printable(failure, 300));
      s.no(
          fmt::format("[SERVERBUG] {} failed inside the server; the administrator can find "
                      "it in the log under session {}",
                      row->verb, s.id));
      s.out += s.completion;
      s.untagged("BYE [SERVERBUG] Closing after an internal error");
      break;
    }
    if (s.state == phase::selected && !s.quit) {
      sync_selected(s, row->flags & core::expunge_notices);
      // Charged to the command: eight UPDATE contexts with text keys make a
      // STORE of 64 messages read 512 (RFC 5267 §4.3 re-evaluation).
      co_await update_contexts(s);
      // RFC 7162 §3.1: the first CONDSTORE-enabling command tells the
      // folder's HIGHESTMODSEQ (SELECT and EXAMINE tell it themselves).
      if (!condstore_before && s.condstore && d->verb != "SELECT" && d->verb != "EXAMINE") {
        auto lock = s.selected->view->reader();
        s.untagged(fmt::format("OK [HIGHESTMODSEQ {}] Highest", s.selected->view->highestmodseq));
      }
    }
    spent();
    s.out += s.completion;
    std::string args;
    if (observer.wanted()) args = core::loggable_arguments(d->args, row->mask);
    auto rec = s.record(row->verb, args, conn.bytes_in() - in_before + in.text.size(),
                        conn.bytes_out() + s.out.size() - out_before, started);
    observer.on_command(rec);
  }
  if (bad >= max_bad_commands) {
    observe::log_limited("imap bad commands", observe::level::warning, "imap", s.id,
                         "too many bad commands ({} in a row) from {}; closing", max_bad_commands,
                         s.who());
    s.untagged("BYE Too many bad commands; closing");
  }
  co_await s.flush();
}

}  // namespace

std::string interrupted_goodbye(const session& s) {
  if (auto why = s.end_reason(); !why.empty()) return "BYE [UNAVAILABLE] " + why;
  return "BYE [UNAVAILABLE] The server is shutting down; reconnect in a moment";
}

std::string error_reply(const session& s, const base::error& e) {
  if (e.code == base::errc::io_error)
    return fmt::format("[SERVERBUG] {} (session {})", core::client_words(e), s.id);
  return fmt::format("{} {}", code_of(e.code), core::client_words(e));
}

net::awaitable<void> run_session(services& svc, std::shared_ptr<net::connection> conn,
                                 const net::listener_spec& listener) {
  auto& live = svc.settings;
  auto read_settings = [&live] { return live.imap(); };
  auto settings = co_await net::run_blocking(std::move(read_settings));
  session s{svc, conn, listener, observe::new_session_id(), std::move(settings)};

  auto admitted = svc.registry.admit("imap", conn->remote_ip(), s.settings->max_connections,
                                     s.settings->max_connections_from_single_ip);
  conn->set_timeout(s.settings->preauthenticated_timeout);
  conn->set_phase_deadline(net::connection::clock::now() + s.settings->preauthenticated_timeout);
  if (!admitted)
    conn->set_timeout(std::min<net::connection::clock::duration>(
        s.settings->preauthenticated_timeout, std::chrono::seconds(5)));
  bool secured = co_await core::implicit_tls(s);
  if (!secured) co_return;
  if (auto why = core::out_of_service(s)) {
    auto refusal = fmt::format("BYE [UNAVAILABLE] {}", *why);
    s.untagged(refusal);
    s.opened("* " + refusal);
    co_await s.flush();
    co_return;
  }
  if (!admitted) {
    observe::log_limited_coded(fmt::format("imap refused {}", conn->remote_ip()),
                               observe::level::warning, "imap", s.id,
                               {"UNAVAILABLE", conn->remote_ip()}, "connection from {} refused: {}",
                               conn->remote_ip(), admitted.err().message);
    auto refusal = fmt::format("BYE [UNAVAILABLE] {}", admitted.err().message);
    s.untagged(refusal);
    s.opened("* " + refusal);
    co_await s.flush();
    co_return;
  }
  s.opened();
  // RFC 9051 §7.1.1: the greeting may carry the capabilities, which saves
  // most clients a round trip.
  s.untagged(fmt::format("OK [CAPABILITY {}] {}", capability_list(s), s.settings->banner));
  auto& observer = svc.observer ? *svc.observer : core::log_observer();
  co_await run_loop(s, observer);
}

}  // namespace postern::session::imap
