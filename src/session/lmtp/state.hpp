// State of one LMTP session, shared by the command handlers.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "directory/settings_schema.hpp"
#include "net/server.hpp"
#include "session/services.hpp"

namespace postern::session::lmtp {

struct recipient {
  std::string address;
  int64_t user_id;
};

struct state {
  services& svc;
  std::shared_ptr<net::connection> conn;
  const net::listener_spec& listener;
  std::shared_ptr<const directory::lmtp_settings> settings;
  std::string id;
  bool greeted = false;
  bool quit = false;
  std::optional<std::string> sender{};  // set by MAIL FROM
  std::vector<recipient> recipients{};
  std::string out{};

  void reply(std::string_view text) {
    out += text;
    out += "\r\n";
  }
  void reset() {
    sender.reset();
    recipients.clear();
  }
};

}  // namespace postern::session::lmtp
