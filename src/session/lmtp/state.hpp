// State of one LMTP session (RFC 2033), shared by the command handlers.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "directory/settings_schema.hpp"
#include "session/core/session_base.hpp"
#include "session/smtp/envelope.hpp"

namespace postern::session::lmtp {

// Where the session is in the RFC 5321 §4.1.4 command order.
enum class phase : uint8_t {
  connected = 1,  // before LHLO
  greeted = 2,    // LHLO done, no transaction
  mail = 4,       // MAIL FROM accepted, no recipient yet
  rcpt = 8,       // at least one recipient accepted
};

struct state : core::session_base {
  state(services& svc, std::shared_ptr<net::connection> conn, const net::listener_spec& listener,
        std::string id, std::shared_ptr<const directory::lmtp_settings> settings_)
      : core::session_base(svc, std::move(conn), listener, std::move(id), "lmtp"),
        settings(std::move(settings_)) {}

  std::shared_ptr<const directory::lmtp_settings> settings;
  phase stage = phase::connected;
  smtp::envelope env{};

  uint8_t state_bit() const { return static_cast<uint8_t>(stage); }
  void reply(std::string_view text) {
    if (text.size() >= 4 && (text[0] == '4' || text[0] == '5'))
      note_status(text.substr(0, 3), text.substr(4));
    else if (text.size() >= 3)
      note_status(text.substr(0, 3));
    out += text;
    out += "\r\n";
  }
  void syntax_error(std::string_view words) { reply(fmt_syntax(words)); }
  // Ends the transaction (RSET, after DATA, after LHLO).
  void reset() {
    env.reset();
    if (stage != phase::connected) stage = phase::greeted;
  }

 private:
  static std::string fmt_syntax(std::string_view words) {
    return "501 5.5.4 " + std::string(words);
  }
};

// Maps a store or directory error to an LMTP reply for one recipient, in one
// place: a full disk, a quota, a missing mailbox and a busy store each get
// their own code (RFC 3463).
std::string error_reply(const state& s, std::string_view recipient, const base::error& e);

}  // namespace postern::session::lmtp
