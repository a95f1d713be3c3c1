// UPDATE contexts (RFC 5267 §4.3, CONTEXT=SEARCH and CONTEXT=SORT): a SEARCH
// or SORT with RETURN (UPDATE) leaves its result with the session, which
// tells the client how it changes, in ESEARCH responses tagged with the
// command's tag, until CANCELUPDATE or the folder is left:
// - REMOVEFROM for an expunged member just before its EXPUNGE or VANISHED,
//   while its sequence number is still valid (§4.3.4);
// - ADDTO and REMOVEFROM for new messages and flag changes after the EXISTS
//   and FETCH of the same sync (§4.3.2, §4.3.3): only the messages whose
//   modseq moved are evaluated again (Appendix B), a SORT result is put in
//   order again only when its members changed.
// Sequence numbers and "$" in the search program mean what they meant when
// the command came (RFC 5267 §4.3, the errata of RFC 3501), so they are
// turned into the UIDs they named.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proto/imap/search_keys.hpp"
#include "proto/imap/sort_args.hpp"
#include "session/imap/commands/search_eval.hpp"
#include "session/imap/state.hpp"

namespace postern::session::imap {

// RFC 5267 §4.3.1: at least one per client; more are refused with NOUPDATE,
// which bounds what a session keeps (a result is 4 bytes per message).
inline constexpr size_t max_update_contexts = 8;

struct search_context {
  std::string tag;
  bool by_uid = false;
  bool sorted = false;  // SORT: positions matter
  std::vector<proto::imap::sort_criterion> criteria;
  proto::imap::search_key root;  // sequence numbers and "$" as UIDs
  std::vector<uint32_t> result;  // UIDs: ascending (SEARCH) or in sort order (SORT)
  std::unordered_map<uint32_t, uint8_t> relevancy;  // SORT by RELEVANCY: each member's score
  uint64_t evaluated_modseq = 0;  // messages changed after this are evaluated again
};

// RFC 5267 §4.3: a searching command with UPDATE whose tag an UPDATE context
// has already is refused with BAD.
bool update_tag_in_use(const session& s, std::string_view tag);

// Keeps the context of the command now running (its tag), or sends the
// untagged NO [NOUPDATE "tag"] when the session has max_update_contexts.
void open_context(session& s, const proto::imap::search_key& root,
                  std::vector<proto::imap::sort_criterion> criteria, bool sorted, bool by_uid,
                  std::vector<uint32_t> result, const search_found& found);

// REMOVEFROM for these UIDs, about to be reported expunged (sync.cpp).
void contexts_expunged(session& s, const std::vector<uint32_t>& uids);

// ADDTO and REMOVEFROM for the messages that changed since each context was
// last brought up to date; after sync_selected.
net::awaitable<void> update_contexts(session& s);

// The search program with sequence-number sets and "$" replaced by the UIDs
// they name in `sel` now.
void freeze_numbers(proto::imap::search_key& k, const selected_folder& sel);

}  // namespace postern::session::imap
