// IMAP's command table and handlers (one file per group under commands/).
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "session/core/command_table.hpp"
#include "session/imap/state.hpp"

namespace postern::session::imap {

using row = core::command_row<session>;
std::span<const row> command_table();
// "IMAP4rev2 IMAP4rev1 ...": the CAPABILITY list for the present state.
std::string capability_list(const session& s);

net::awaitable<void> cmd_capability(session& s, std::string_view args);
net::awaitable<void> cmd_sort(session& s, std::string_view args);
net::awaitable<void> cmd_uid_sort(session& s, std::string_view args);
net::awaitable<void> cmd_thread(session& s, std::string_view args);
net::awaitable<void> cmd_uid_thread(session& s, std::string_view args);
net::awaitable<void> cmd_noop(session& s, std::string_view args);
net::awaitable<void> cmd_logout(session& s, std::string_view args);
net::awaitable<void> cmd_starttls(session& s, std::string_view args);
net::awaitable<void> cmd_login(session& s, std::string_view args);
net::awaitable<void> cmd_authenticate(session& s, std::string_view args);
net::awaitable<void> cmd_unauthenticate(session& s, std::string_view args);
net::awaitable<void> cmd_id(session& s, std::string_view args);
net::awaitable<void> cmd_enable(session& s, std::string_view args);
net::awaitable<void> cmd_compress(session& s, std::string_view args);

net::awaitable<void> cmd_namespace(session& s, std::string_view args);
net::awaitable<void> cmd_list(session& s, std::string_view args);
net::awaitable<void> cmd_lsub(session& s, std::string_view args);
net::awaitable<void> cmd_status(session& s, std::string_view args);
net::awaitable<void> cmd_create(session& s, std::string_view args);
net::awaitable<void> cmd_delete(session& s, std::string_view args);
net::awaitable<void> cmd_rename(session& s, std::string_view args);
net::awaitable<void> cmd_subscribe(session& s, std::string_view args);
net::awaitable<void> cmd_unsubscribe(session& s, std::string_view args);
net::awaitable<void> cmd_getquota(session& s, std::string_view args);
net::awaitable<void> cmd_getquotaroot(session& s, std::string_view args);
net::awaitable<void> cmd_setquota(session& s, std::string_view args);

net::awaitable<void> cmd_select(session& s, std::string_view args);
net::awaitable<void> cmd_examine(session& s, std::string_view args);
net::awaitable<void> cmd_close(session& s, std::string_view args);
net::awaitable<void> cmd_unselect(session& s, std::string_view args);
net::awaitable<void> cmd_expunge(session& s, std::string_view args);
net::awaitable<void> cmd_uid_expunge(session& s, std::string_view args);
net::awaitable<void> cmd_idle(session& s, std::string_view args);
net::awaitable<void> cmd_append(session& s, std::string_view args);
net::awaitable<void> cmd_replace(session& s, std::string_view args);
net::awaitable<void> cmd_uid_replace(session& s, std::string_view args);

net::awaitable<void> cmd_fetch(session& s, std::string_view args);
net::awaitable<void> cmd_uid_fetch(session& s, std::string_view args);
net::awaitable<void> cmd_store(session& s, std::string_view args);
net::awaitable<void> cmd_uid_store(session& s, std::string_view args);
net::awaitable<void> cmd_search(session& s, std::string_view args);
net::awaitable<void> cmd_uid_search(session& s, std::string_view args);
net::awaitable<void> cmd_cancelupdate(session& s, std::string_view args);
net::awaitable<void> cmd_copy(session& s, std::string_view args);
net::awaitable<void> cmd_uid_copy(session& s, std::string_view args);
net::awaitable<void> cmd_move(session& s, std::string_view args);
net::awaitable<void> cmd_uid_move(session& s, std::string_view args);

}  // namespace postern::session::imap
