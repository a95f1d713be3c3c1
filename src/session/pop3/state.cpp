#include "session/pop3/state.hpp"

#include <fmt/format.h>

#include "session/core/login.hpp"

namespace postern::session::pop3 {

void session::ok(std::string_view text) {
  note_status("+OK");
  out += "+OK ";
  out += text;
  out += "\r\n";
}

void session::err(std::string_view text) {
  note_status("-ERR", text);
  out += "-ERR ";
  out += text;
  out += "\r\n";
}

bool session::plaintext_login_allowed() const {
  return core::plaintext_login_allowed(*conn, settings->login, settings->secure_networks);
}

std::string session::plaintext_refusal() const {
  std::string how;
  if (conn->tls_available() && !conn->tls_active()) how = "use STLS first";
  if (svc.pop3s_port) {
    if (!how.empty()) how += ", or ";
    how += fmt::format("connect with TLS to port {}", svc.pop3s_port);
  }
  if (how.empty()) how = "ask the administrator for a TLS port";
  return fmt::format(
      "[AUTH] Plaintext login is not allowed on an unencrypted connection (login_type = secure): "
      "{}",
      how);
}

}  // namespace postern::session::pop3
