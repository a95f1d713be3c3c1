#include "session/pop3/commands.hpp"

namespace postern::session::pop3 {

namespace {
constexpr uint8_t auth = static_cast<uint8_t>(phase::authorization);
constexpr uint8_t trans = static_cast<uint8_t>(phase::transaction);

constexpr command_spec table[] = {
    {"CAPA", auth | trans, cmd_capa},
    {"STLS", auth, cmd_stls, "STLS"},
    {"UTF8", auth, cmd_utf8, "UTF8 USER"},
    {"USER", auth, cmd_user, "USER"},
    {"PASS", auth, cmd_pass},
    {"AUTH", auth, cmd_auth, "SASL PLAIN LOGIN"},
    {"STAT", trans, cmd_stat},
    {"LIST", trans, cmd_list},
    {"UIDL", trans, cmd_uidl, "UIDL"},
    {"DELE", trans, cmd_dele},
    {"RSET", trans, cmd_rset},
    {"NOOP", trans, cmd_noop},
    {"RETR", trans, cmd_retr},
    {"TOP", trans, cmd_top, "TOP"},
    {"QUIT", auth | trans, cmd_quit},
};
}  // namespace

const command_spec* find_command(std::string_view verb) {
  for (auto& c : table)
    if (c.verb == verb) return &c;
  return nullptr;
}

std::string command_capabilities(const session& s) {
  std::string out;
  for (auto& c : table) {
    if (c.capability.empty()) continue;
    // Login commands vanish after login (RFC 2449 §5); STLS only while it can run.
    if (c.phases == auth && s.state != phase::authorization) continue;
    if (c.verb == "STLS" && (!s.conn->tls_available() || s.conn->tls_active())) continue;
    out += c.capability;
    out += "\r\n";
  }
  return out;
}

}  // namespace postern::session::pop3
