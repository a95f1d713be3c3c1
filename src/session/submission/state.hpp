// State of one SMTP submission session (RFC 6409), shared by the handlers.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "directory/settings_schema.hpp"
#include "policy/connection_registry.hpp"
#include "session/core/session_base.hpp"
#include "session/smtp/data_receiver.hpp"
#include "session/smtp/dsn_params.hpp"
#include "session/smtp/envelope.hpp"

namespace postern::session::submission {

// Where the session is in RFC 5321 §4.1.4's order, with AUTH (RFC 4954)
// required before a transaction.
enum class phase : uint8_t {
  connected = 1,      // before EHLO
  greeted = 2,        // EHLO done, not authenticated
  authenticated = 4,  // AUTH done, no transaction
  mail = 8,           // MAIL FROM accepted, no recipient yet
  rcpt = 16,          // at least one recipient accepted
};

struct state : core::session_base {
  state(services& svc, std::shared_ptr<net::connection> conn, const net::listener_spec& listener,
        std::string id, std::shared_ptr<const directory::submission_settings> settings_)
      : core::session_base(svc, std::move(conn), listener, std::move(id), "submission"),
        settings(std::move(settings_)) {}

  std::shared_ptr<const directory::submission_settings> settings;
  phase stage = phase::connected;
  std::string client_name;  // what EHLO or HELO said
  bool esmtp = false;       // greeted with EHLO
  smtp::envelope env{};
  bool smtputf8 = false;    // MAIL FROM ... SMTPUTF8 (RFC 6531)
  bool requiretls = false;  // MAIL FROM ... REQUIRETLS (RFC 8689)
  smtp::dsn_mail dsn;       // MAIL FROM ... RET= ENVID= (RFC 3461)
  // BDAT (RFC 3030): the message so far, after the first chunk.
  std::unique_ptr<smtp::message_builder> chunks;
  std::string chunks_prefix;  // the Received field the first chunk started with
  uint64_t chunk_bytes = 0;   // bytes of the message received in chunks

  int64_t user_id = 0;  // after AUTH
  policy::lease user_lease{};

  uint8_t state_bit() const { return static_cast<uint8_t>(stage); }
  void reply(std::string_view text) {
    if (text.size() >= 4 && (text[0] == '4' || text[0] == '5'))
      note_status(text.substr(0, 3), text.substr(4));
    else if (text.size() >= 3)
      note_status(text.substr(0, 3));
    out += text;
    out += "\r\n";
  }
  void syntax_error(std::string_view words) { reply("501 5.5.4 " + std::string(words)); }
  // Ends the transaction (RSET, after DATA, after EHLO).
  void reset() {
    env.reset();
    smtputf8 = false;
    requiretls = false;
    dsn = {};
    chunks.reset();
    chunks_prefix.clear();
    chunk_bytes = 0;
    if (stage == phase::mail || stage == phase::rcpt) stage = phase::authenticated;
  }
  // RFC 4954 §4 with login_type: may AUTH run on this connection now?
  bool plaintext_login_allowed() const;
};

}  // namespace postern::session::submission
