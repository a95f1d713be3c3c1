// Keeping a session's picture of its selected folder in step with the shared
// view (RFC 9051 §5.2, §7.5.1; RFC 7162 §3.2.10): new messages as EXISTS,
// others' flag changes as FETCH (FLAGS ...) with MODSEQ under CONDSTORE and
// UID under QRESYNC, expunges as EXPUNGE or VANISHED — but never an expunge
// while sequence numbers must hold (after FETCH, STORE, SEARCH).
#pragma once

#include <string>

#include "session/imap/state.hpp"

namespace postern::session::imap {

// Appends the untagged updates since the last sync to s.out.
void sync_selected(session& s, bool allow_expunge);

// "\\Answered ... \\Draft $kw1 $kw2": the flags a folder knows.
std::string defined_flags(const store::folder_view& v);
// FLAGS and PERMANENTFLAGS again when a keyword was added to the folder
// (RFC 9051 §7.3.5), before any FETCH that uses it. Call with the view read-locked.
void announce_flags(session& s, const store::folder_view& v);

// "(\\Seen \\Flagged $Forwarded)" of one message.
std::string flag_list(const store::folder_view& v, const store::message_meta& m, bool recent);
// The same, appended to `out` (FETCH of many messages writes in place).
void append_flag_list(std::string& out, const store::folder_view& v, const store::message_meta& m,
                      bool recent);

}  // namespace postern::session::imap
