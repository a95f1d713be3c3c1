#include "admin/protocols.hpp"

#include "session/imap/session.hpp"
#include "session/lmtp/session.hpp"
#include "session/pop3/session.hpp"
#include "session/submission/session.hpp"

namespace postern::admin {

namespace {
const protocol_kind kinds[] = {
    {"pop3", "POP3 (RFC 1939) for mail clients", session::pop3::run_session},
    {"imap", "IMAP4rev2 and IMAP4rev1 (RFC 9051, RFC 3501) for mail clients",
     session::imap::run_session},
    {"lmtp", "LMTP (RFC 2033) delivery from an MTA", session::lmtp::run_session},
    {"submission", "SMTP submission (RFC 6409) for mail clients, with AUTH",
     session::submission::run_session},
};
}  // namespace

std::span<const protocol_kind> protocols() { return kinds; }

const protocol_kind* find_protocol(std::string_view name) {
  for (auto& k : kinds)
    if (k.name == name) return &k;
  return nullptr;
}

std::string protocol_names() {
  std::string out;
  for (auto& k : kinds) {
    if (!out.empty()) out += ", ";
    out += k.name;
  }
  return out;
}

}  // namespace postern::admin
