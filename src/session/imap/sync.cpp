#include "session/imap/sync.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace postern::session::imap {

uint32_t selected_folder::seq_of(uint32_t uid) const {
  auto it = std::lower_bound(uids.begin(), uids.end(), uid);
  if (it == uids.end() || *it != uid) return 0;
  return static_cast<uint32_t>(it - uids.begin()) + 1;
}

std::string flag_list(const store::folder_view& v, const store::message_meta& m, bool recent) {
  std::string out = "(";
  auto add = [&](std::string_view f) {
    if (out.size() > 1) out += ' ';
    out += f;
  };
  if (m.flags & store::flag_seen) add("\\Seen");
  if (m.flags & store::flag_answered) add("\\Answered");
  if (m.flags & store::flag_flagged) add("\\Flagged");
  if (m.flags & store::flag_deleted) add("\\Deleted");
  if (m.flags & store::flag_draft) add("\\Draft");
  if (recent) add("\\Recent");
  for (size_t i = 0; i < v.keywords.size() && i < 64; ++i)
    if (m.keywords & (uint64_t{1} << i)) add(v.keywords[i]);
  out += ')';
  return out;
}

void sync_selected(session& s, bool allow_expunge) {
  if (!s.selected) return;
  auto& sel = *s.selected;
  auto& v = *sel.view;
  auto lock = v.reader();

  // Expunges by anyone (this session's EXPUNGE reports its own first).
  for (; sel.expunge_cursor < v.expunged.size(); ++sel.expunge_cursor) {
    uint32_t uid = v.expunged[sel.expunge_cursor].first;
    if (sel.seq_of(uid)) sel.pending_expunges.push_back(uid);
  }
  if (allow_expunge && !sel.pending_expunges.empty()) {
    std::sort(sel.pending_expunges.begin(), sel.pending_expunges.end());
    sel.pending_expunges.erase(
        std::unique(sel.pending_expunges.begin(), sel.pending_expunges.end()),
        sel.pending_expunges.end());
    if (s.qresync) {
      // RFC 7162 §3.2.10: VANISHED with UIDs instead of EXPUNGE.
      std::string set;
      for (auto uid : sel.pending_expunges) set += fmt::format("{}{}", set.empty() ? "" : ",", uid);
      s.untagged(fmt::format("VANISHED {}", set));
      std::vector<uint32_t> keep;
      keep.reserve(sel.uids.size());
      std::set_difference(sel.uids.begin(), sel.uids.end(), sel.pending_expunges.begin(),
                          sel.pending_expunges.end(), std::back_inserter(keep));
      sel.uids.swap(keep);
    } else {
      // Highest first would be cheaper for the client to apply, but each
      // EXPUNGE renumbers what follows, so report in the order that keeps
      // every number right: each one as it is removed.
      for (auto uid : sel.pending_expunges) {
        uint32_t seq = sel.seq_of(uid);
        if (!seq) continue;
        s.untagged(fmt::format("{} EXPUNGE", seq));
        sel.uids.erase(sel.uids.begin() + (seq - 1));
      }
    }
    sel.pending_expunges.clear();
  }

  // New messages.
  uint32_t last = sel.uids.empty() ? 0 : sel.uids.back();
  size_t before = sel.uids.size();
  auto it = std::upper_bound(v.messages.begin(), v.messages.end(), last,
                             [](uint32_t u, const store::message_meta& m) { return u < m.uid; });
  for (; it != v.messages.end(); ++it) sel.uids.push_back(it->uid);
  bool grew = sel.uids.size() != before;
  if (grew || (allow_expunge && before != sel.uids.size()))
    s.untagged(fmt::format("{} EXISTS", sel.uids.size()));

  // Flag changes by others since the last sync.
  if (v.highestmodseq > sel.seen_modseq) {
    for (auto& m : v.messages) {
      if (m.modseq <= sel.seen_modseq || m.uid > last) continue;
      auto own = std::find(sel.own_changes.begin(), sel.own_changes.end(),
                           std::pair<uint32_t, uint64_t>{m.uid, m.modseq});
      if (own != sel.own_changes.end()) continue;
      uint32_t seq = sel.seq_of(m.uid);
      if (!seq) continue;
      std::string line = fmt::format("{} FETCH (", seq);
      if (s.qresync) line += fmt::format("UID {} ", m.uid);
      line += "FLAGS " + flag_list(v, m, !s.rev2 && m.uid >= sel.recent_from);
      if (s.condstore) line += fmt::format(" MODSEQ ({})", m.modseq);
      line += ')';
      s.untagged(line);
    }
    sel.seen_modseq = v.highestmodseq;
  }
  sel.own_changes.clear();
}

}  // namespace postern::session::imap
