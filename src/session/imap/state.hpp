// State of one IMAP session (RFC 9051 §3), shared by the command handlers.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "directory/settings_schema.hpp"
#include "policy/connection_registry.hpp"
#include "session/core/session_base.hpp"
#include "store/folder_view.hpp"
#include "store/store.hpp"

namespace postern::session::imap {

// RFC 9051 §3: the states, as bits for the command table.
enum class phase : uint8_t { not_authenticated = 1, authenticated = 2, selected = 4 };

struct search_context;  // contexts.hpp

// The selected folder as this session knows it. The messages themselves live
// in the shared folder_view; a session keeps only its sequence map (4 bytes
// per message) and how far it has caught up with the view.
struct selected_folder {
  std::shared_ptr<store::folder_view> view;
  std::string name;  // UTF-8
  bool read_only = false;
  std::vector<uint32_t> uids;  // sequence number n is uids[n-1]
  uint64_t seen_modseq = 0;    // changes up to here have been reported
  size_t expunge_cursor = 0;   // entries of view->expunged already looked at
  // Expunged by another session but not yet reported: RFC 9051 §7.5.1 forbids
  // EXPUNGE after FETCH, STORE and SEARCH; they stay in `uids` until allowed.
  std::vector<uint32_t> pending_expunges;
  // (uid, modseq) of this session's own STOREs, already answered, so the next
  // sync does not report them again.
  std::vector<std::pair<uint32_t, uint64_t>> own_changes;
  std::vector<uint32_t> saved_search;  // "$" (RFC 5182), as UIDs
  // SEARCH and SORT results kept up to date (RFC 5267 §4.3), until the
  // folder is left or CANCELUPDATE.
  std::vector<std::shared_ptr<search_context>> contexts;
  size_t known_keywords = 0;  // keywords this session was told of in FLAGS
  // UID ranges [first, last) this session claimed as \Recent (IMAP4rev1;
  // see folder_view::recent_uid). EXAMINE claims nothing but shows what no
  // one has claimed.
  std::vector<std::pair<uint32_t, uint32_t>> recent;
  bool is_recent(uint32_t uid) const {
    for (auto& r : recent)
      if (uid >= r.first && uid < r.second) return true;
    return false;
  }
  uint32_t recent_count() const;
  // Records a claimed range: joined to the last one when they touch, and
  // ranges below every UID still listed dropped, so a session that stays
  // logged in while mail comes and goes keeps a handful, not one per sync.
  void add_recent(uint32_t first, uint32_t upto);
  uint32_t reported_recent = 0;  // the count in the last RECENT response

  // Sequence number of a UID, or 0.
  uint32_t seq_of(uint32_t uid) const;
};

struct session : core::session_base {
  session(services& svc, std::shared_ptr<net::connection> conn, const net::listener_spec& listener,
          std::string id, std::shared_ptr<const directory::imap_settings> settings_)
      : core::session_base(svc, std::move(conn), listener, std::move(id), "imap"),
        settings(std::move(settings_)) {}

  std::shared_ptr<const directory::imap_settings> settings;
  phase state = phase::not_authenticated;
  std::string tag;         // of the command running now
  std::string completion;  // its tagged reply, sent after the untagged updates
  // The message literal APPEND starts with (the reader stopped before it).
  bool append_literal = false;  // this command stopped before a message literal
  uint64_t append_size = 0;
  bool append_sync = true;
  bool append_binary = false;

  // ENABLE (RFC 9051 §6.3.1, RFC 5161).
  bool rev2 = false;         // IMAP4rev2
  bool utf8_accept = false;  // UTF8=ACCEPT (RFC 6855)
  bool condstore = false;    // CONDSTORE (RFC 7162 §3.1), also on by a CONDSTORE-using command
  bool qresync = false;      // QRESYNC (RFC 7162 §3.2)

  policy::lease user_lease{};
  std::shared_ptr<store::mailbox> mailbox{};
  int64_t user_id = 0;
  std::optional<selected_folder> selected;

  uint8_t state_bit() const { return static_cast<uint8_t>(state); }

  // Replies. Untagged lines are "* " + text and go out at once; the tagged
  // one is kept in `completion` and follows the mailbox updates (sync.hpp).
  void untagged(std::string_view text);
  void ok(std::string_view text);
  void no(std::string_view text);
  void bad(std::string_view text);
  void syntax_error(std::string_view words) { bad(words); }
  // RFC 3501 §6.2.3 / login_type: may LOGIN and AUTHENTICATE run now?
  bool plaintext_login_allowed() const;
  // Mailbox names on the wire: modified UTF-7 unless UTF8=ACCEPT is on.
  std::string wire_name(std::string_view utf8) const;
};

// Maps a store or directory error to "[CODE] words (session ID)" (RFC 5530)
// in one place (error_map.cpp). The words never hold a path.
std::string error_reply(const session& s, const base::error& e);
// The BYE for a session whose connection was interrupted: the node stops, or
// the administrator ended it (`postern session kill`).
std::string interrupted_goodbye(const session& s);

}  // namespace postern::session::imap
