// State of one POP3 session, shared by the command handlers.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "directory/settings_schema.hpp"
#include "net/server.hpp"
#include "policy/connection_registry.hpp"
#include "session/services.hpp"
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

struct session {
  services& svc;
  std::shared_ptr<net::connection> conn;
  const net::listener_spec& listener;
  std::shared_ptr<const directory::pop3_settings> settings;
  std::string id;

  phase state = phase::authorization;
  bool quit = false;
  bool utf8 = false;
  std::string pending_user{};  // from USER, waiting for PASS

  std::string user{};  // address after login
  policy::lease user_lease{};
  std::shared_ptr<store::mailbox> mailbox{};
  uint32_t uidvalidity = 0;
  std::vector<maildrop_entry> maildrop{};

  std::string out{};  // responses not yet written (flushed before blocking on input)

  void ok(std::string_view text);
  void err(std::string_view text);
  // Writes pending output now; `more` when a file is sent right after.
  net::awaitable<bool> flush(bool more = false);
  bool plaintext_login_allowed() const;
  std::string plaintext_refusal() const;
};

// Maps a store or directory error to "-ERR [CODE] words (session ID)" in one place.
std::string error_reply(const session& s, const base::error& e);

}  // namespace postern::session::pop3
