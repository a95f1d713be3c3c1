// IMAP's command table: every verb with the states it is allowed in
// (RFC 9051 §6), whether it may be pipelined, whether untagged EXPUNGEs may
// follow it (§7.5.1: not after FETCH, STORE, SEARCH by sequence number), what
// logs must mask, and the capability it brings.
#include "session/imap/commands.hpp"

#include <fmt/format.h>

#include "session/core/sasl.hpp"

namespace postern::session::imap {

namespace {

using core::expunge_notices;
using core::pipelined;
using core::secret;
using core::unbudgeted;

constexpr uint8_t na = static_cast<uint8_t>(phase::not_authenticated);
constexpr uint8_t au = static_cast<uint8_t>(phase::authenticated);
constexpr uint8_t se = static_cast<uint8_t>(phase::selected);
constexpr uint8_t any = na | au | se;
constexpr uint8_t in = au | se;
constexpr uint8_t pe = pipelined | expunge_notices;

bool before_login(const session& s) { return s.state == phase::not_authenticated; }
bool after_login(const session& s) { return s.state != phase::not_authenticated; }

std::string cap_base(const session&) { return "IMAP4rev2 IMAP4rev1"; }
std::string cap_starttls(const session& s) {
  if (!before_login(s) || s.conn->tls_active() || !s.conn->tls_available()) return "";
  return "STARTTLS";
}
std::string cap_login(const session& s) {
  // RFC 9051 §6.2.3: LOGINDISABLED while plaintext login is not allowed.
  if (!before_login(s)) return "";
  return s.plaintext_login_allowed() ? "" : "LOGINDISABLED";
}
std::string cap_auth(const session& s) {
  if (!before_login(s) || !s.plaintext_login_allowed()) return "";
  std::string out = "SASL-IR";
  for (auto m : proto::sasl::supported_mechanisms()) out += fmt::format(" AUTH={}", m);
  return out;
}
std::string cap_literal(const session&) { return "LITERAL+"; }
std::string cap_id(const session&) { return "ID"; }
std::string cap_enable(const session& s) { return after_login(s) ? "ENABLE" : ""; }
std::string cap_idle(const session&) { return "IDLE"; }
std::string cap_namespace(const session&) { return "NAMESPACE"; }
std::string cap_unselect(const session&) { return "UNSELECT"; }
std::string cap_list(const session&) { return "CHILDREN SPECIAL-USE LIST-EXTENDED LIST-STATUS"; }
std::string cap_create(const session&) { return "CREATE-SPECIAL-USE"; }
std::string cap_status(const session&) { return "STATUS=SIZE OBJECTID SAVEDATE"; }
std::string cap_select(const session&) { return "CONDSTORE QRESYNC UTF8=ACCEPT"; }
std::string cap_uidplus(const session&) { return "UIDPLUS"; }
std::string cap_move(const session&) { return "MOVE"; }
std::string cap_append(const session& s) {
  return fmt::format("MULTIAPPEND APPENDLIMIT={}", s.settings->max_message_size);
}
std::string cap_search(const session&) { return "ESEARCH SEARCHRES SEARCH=FUZZY"; }
std::string cap_sort(const session&) { return "SORT SORT=DISPLAY ESORT"; }
std::string cap_context(const session&) { return "CONTEXT=SEARCH CONTEXT=SORT"; }
std::string cap_thread(const session&) {
  return "THREAD=ORDEREDSUBJECT THREAD=REFERENCES THREAD=REFS";
}
std::string cap_replace(const session&) { return "REPLACE"; }
std::string cap_compress(const session& s) {
  // RFC 4978 §3: COMPRESS is a command of the authenticated state.
  return after_login(s) && !s.conn->compression_active() ? "COMPRESS=DEFLATE" : "";
}
std::string cap_quota(const session&) { return "QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE"; }
std::string cap_fetch(const session&) { return "BINARY PREVIEW"; }
std::string cap_unauthenticate(const session& s) { return after_login(s) ? "UNAUTHENTICATE" : ""; }

const row table[] = {
    {"CAPABILITY", any, pe, secret::none, cmd_capability, cap_base},
    {"NOOP", any, pe, secret::none, cmd_noop, cap_literal},
    {"LOGOUT", any, pe | unbudgeted, secret::none, cmd_logout},
    {"ID", any, pe, secret::none, cmd_id, cap_id},
    {"STARTTLS", na, 0, secret::none, cmd_starttls, cap_starttls},
    {"LOGIN", na, pipelined, secret::after_first_word, cmd_login, cap_login},
    {"AUTHENTICATE", na, 0, secret::after_first_word, cmd_authenticate, cap_auth},
    {"ENABLE", au, pe, secret::none, cmd_enable, cap_enable},
    {"COMPRESS", in, 0, secret::none, cmd_compress, cap_compress},
    {"UNAUTHENTICATE", in, 0, secret::none, cmd_unauthenticate, cap_unauthenticate},
    {"NAMESPACE", in, pe, secret::none, cmd_namespace, cap_namespace},
    {"LIST", in, pe, secret::none, cmd_list, cap_list},
    {"LSUB", in, pe, secret::none, cmd_lsub},
    {"STATUS", in, pe, secret::none, cmd_status, cap_status},
    {"CREATE", in, pe, secret::none, cmd_create, cap_create},
    {"DELETE", in, pe, secret::none, cmd_delete},
    {"RENAME", in, pe, secret::none, cmd_rename},
    {"SUBSCRIBE", in, pe, secret::none, cmd_subscribe},
    {"UNSUBSCRIBE", in, pe, secret::none, cmd_unsubscribe},
    {"GETQUOTAROOT", in, pe, secret::none, cmd_getquotaroot, cap_quota},
    {"GETQUOTA", in, pe, secret::none, cmd_getquota},
    {"SETQUOTA", in, pe, secret::none, cmd_setquota},
    {"SELECT", in, pe, secret::none, cmd_select, cap_select},
    {"EXAMINE", in, pe, secret::none, cmd_examine},
    {"APPEND", in, 0, secret::none, cmd_append, cap_append},
    {"IDLE", in, unbudgeted, secret::none, cmd_idle, cap_idle},
    {"CHECK", se, pe, secret::none, cmd_noop},
    {"CLOSE", se, pe, secret::none, cmd_close},
    {"UNSELECT", se, pe, secret::none, cmd_unselect, cap_unselect},
    {"EXPUNGE", se, pe, secret::none, cmd_expunge},
    {"UID EXPUNGE", se, pe, secret::none, cmd_uid_expunge, cap_uidplus},
    {"FETCH", se, pipelined, secret::none, cmd_fetch, cap_fetch},
    {"UID FETCH", se, pe, secret::none, cmd_uid_fetch},
    {"STORE", se, pipelined, secret::none, cmd_store},
    {"UID STORE", se, pe, secret::none, cmd_uid_store},
    {"SEARCH", se, pipelined, secret::none, cmd_search, cap_search},
    {"UID SEARCH", se, pe, secret::none, cmd_uid_search},
    {"SORT", se, pipelined, secret::none, cmd_sort, cap_sort},
    {"UID SORT", se, pe, secret::none, cmd_uid_sort},
    {"CANCELUPDATE", se, pe, secret::none, cmd_cancelupdate, cap_context},
    {"THREAD", se, pipelined, secret::none, cmd_thread, cap_thread},
    {"UID THREAD", se, pe, secret::none, cmd_uid_thread},
    {"COPY", se, pe, secret::none, cmd_copy},
    {"UID COPY", se, pe, secret::none, cmd_uid_copy},
    {"MOVE", se, pe, secret::none, cmd_move, cap_move},
    {"UID MOVE", se, pe, secret::none, cmd_uid_move},
    {"REPLACE", se, expunge_notices, secret::none, cmd_replace, cap_replace},
    {"UID REPLACE", se, expunge_notices, secret::none, cmd_uid_replace},
};

}  // namespace

std::span<const row> command_table() { return table; }

std::string capability_list(const session& s) {
  std::string out;
  for (auto& c : core::offered_capabilities<session>(s, table)) {
    if (!out.empty()) out += ' ';
    out += c;
  }
  return out;
}

}  // namespace postern::session::imap
