#include "session/pop3/state.hpp"

#include <fmt/format.h>

namespace postern::session::pop3 {

void session::ok(std::string_view text) {
  out += "+OK ";
  out += text;
  out += "\r\n";
}

void session::err(std::string_view text) {
  out += "-ERR ";
  out += text;
  out += "\r\n";
}

net::awaitable<bool> session::flush(bool more) {
  if (out.empty()) co_return true;
  bool ok = co_await conn->write(out, more);
  out.clear();
  co_return ok;
}

bool session::plaintext_login_allowed() const {
  if (conn->tls_active() || settings->login == directory::login_type::plaintext) return true;
  for (auto& n : settings->secure_networks)
    if (n.contains(conn->remote_ip())) return true;
  return false;
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

std::string error_reply(const session& s, const base::error& e) {
  // RFC 2449 §8 / RFC 3206: SYS/TEMP when retrying may help, SYS/PERM when not.
  const char* code = "[SYS/PERM]";
  switch (e.code) {
    case base::errc::temporary:
    case base::errc::io_error:
      code = "[SYS/TEMP]";
      break;
    case base::errc::limit_exceeded:
      code = "[IN-USE]";
      break;
    case base::errc::corrupt:
      code = "[SYS/PERM]";
      break;
    default:
      break;
  }
  return fmt::format("{} {} (session {})", code, e.message, s.id);
}

}  // namespace postern::session::pop3
