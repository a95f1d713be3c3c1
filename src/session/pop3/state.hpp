// State of one POP3 session, shared by the command handlers.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "directory/settings_schema.hpp"
#include "policy/connection_registry.hpp"
#include "session/core/session_base.hpp"
#include "store/store.hpp"

namespace postern::session::pop3 {

enum class phase : uint8_t { authorization = 1, transaction = 2 };

// What POP3 keeps per message for the whole session: 40 bytes, no strings,
// so a logged-in session with thousands of messages still costs kilobytes.
struct maildrop_entry {
  uint64_t size = 0;
  uint64_t blob_id = 0;
  uint64_t header_size = 0;
  uint32_t uid = 0;
  uint32_t dot_lines = 0;
  bool deleted = false;
};

struct session : core::session_base {
  session(services& svc, std::shared_ptr<net::connection> conn, const net::listener_spec& listener,
          std::string id, std::shared_ptr<const directory::pop3_settings> settings_)
      : core::session_base(svc, std::move(conn), listener, std::move(id), "pop3"),
        settings(std::move(settings_)) {}

  std::shared_ptr<const directory::pop3_settings> settings;
  phase state = phase::authorization;
  bool utf8 = false;
  std::string pending_user{};  // from USER, waiting for PASS

  policy::lease user_lease{};
  std::shared_ptr<store::mailbox> mailbox{};
  uint32_t uidvalidity = 0;
  std::vector<maildrop_entry> maildrop{};

  uint8_t state_bit() const { return static_cast<uint8_t>(state); }
  void ok(std::string_view text);
  void err(std::string_view text);
  void syntax_error(std::string_view words) { err(words); }
  // RFC 2595 §4 / login_type: may USER, PASS and AUTH run on this connection now?
  bool plaintext_login_allowed() const;
  std::string plaintext_refusal() const;
};

// Maps a store or directory error to "[CODE] words (session ID)" in one place
// (error_map.cpp). The words never hold a path or an exception's text.
std::string error_reply(const session& s, const base::error& e);

}  // namespace postern::session::pop3
