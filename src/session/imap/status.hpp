// STATUS data of a folder (RFC 9051 §6.3.11, §7.2.4): from the folder's
// shared view, so a folder another session has open costs nothing to ask.
#pragma once

#include <string>
#include <vector>

#include "session/imap/state.hpp"

namespace postern::session::imap {

// A folder's shared view: from memory when it is resident and current (no
// pool, so SELECT and STATUS never queue behind other sessions' FETCH work),
// else loaded on the reading pool.
net::awaitable<base::result<std::shared_ptr<store::folder_view>>> folder_view_of(
    session& s, const std::string& name);

// "STATUS name (MESSAGES 3 UNSEEN 1)"; an unknown item is an error naming it.
net::awaitable<base::result<std::string>> status_line(session& s, const std::string& name,
                                                      const std::vector<std::string>& items);

// RFC 8474 object ids.
std::string mailbox_id(const store::folder_view& v);
std::string email_id(const store::message_meta& m);

}  // namespace postern::session::imap
