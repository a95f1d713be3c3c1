#include "session/pop3/commands.hpp"

namespace postern::session::pop3 {

namespace {
constexpr uint8_t auth = static_cast<uint8_t>(phase::authorization);
constexpr uint8_t trans = static_cast<uint8_t>(phase::transaction);

constexpr command_spec table[] = {
    {"CAPA", auth | trans, cmd_capa}, {"STLS", auth, cmd_stls},  {"UTF8", auth, cmd_utf8},
    {"USER", auth, cmd_user},         {"PASS", auth, cmd_pass},  {"AUTH", auth, cmd_auth},
    {"STAT", trans, cmd_stat},        {"LIST", trans, cmd_list}, {"UIDL", trans, cmd_uidl},
    {"DELE", trans, cmd_dele},        {"RSET", trans, cmd_rset}, {"NOOP", trans, cmd_noop},
    {"RETR", trans, cmd_retr},        {"TOP", trans, cmd_top},   {"QUIT", auth | trans, cmd_quit},
};
}  // namespace

const command_spec* find_command(std::string_view verb) {
  for (auto& c : table)
    if (c.verb == verb) return &c;
  return nullptr;
}

}  // namespace postern::session::pop3
