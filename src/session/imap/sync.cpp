#include "session/imap/sync.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "session/imap/contexts.hpp"

namespace postern::session::imap {

uint32_t selected_folder::recent_count() const {
  uint32_t n = 0;
  for (auto& r : recent) {
    auto lo = std::lower_bound(uids.begin(), uids.end(), r.first);
    auto hi = std::lower_bound(uids.begin(), uids.end(), r.second);
    n += static_cast<uint32_t>(hi - lo);
  }
  return n;
}

void selected_folder::add_recent(uint32_t first, uint32_t upto) {
  uint32_t lowest = uids.empty() ? UINT32_MAX : uids.front();
  std::erase_if(recent, [&](const auto& r) { return r.second <= lowest; });
  if (!recent.empty() && recent.back().second >= first)
    recent.back().second = std::max(recent.back().second, upto);
  else
    recent.emplace_back(first, upto);
}

uint32_t selected_folder::seq_of(uint32_t uid) const {
  auto it = std::lower_bound(uids.begin(), uids.end(), uid);
  if (it == uids.end() || *it != uid) return 0;
  return static_cast<uint32_t>(it - uids.begin()) + 1;
}

void append_flag_list(std::string& out, const store::folder_view& v, const store::message_meta& m,
                      bool recent) {
  out += '(';
  size_t start = out.size();
  auto add = [&](std::string_view f) {
    if (out.size() > start) out += ' ';
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
}

std::string flag_list(const store::folder_view& v, const store::message_meta& m, bool recent) {
  std::string out;
  append_flag_list(out, v, m, recent);
  return out;
}

std::string defined_flags(const store::folder_view& v) {
  std::string out = "\\Answered \\Flagged \\Deleted \\Seen \\Draft";
  for (auto& k : v.keywords) out += " " + k;
  return out;
}

void announce_flags(session& s, const store::folder_view& v) {
  auto& sel = *s.selected;
  if (v.keywords.size() == sel.known_keywords) return;
  sel.known_keywords = v.keywords.size();
  auto flags = defined_flags(v);
  s.untagged(fmt::format("FLAGS ({})", flags));
  s.untagged(fmt::format("OK [PERMANENTFLAGS ({}{})] Flags permitted", sel.read_only ? "" : flags,
                         sel.read_only ? "" : " \\*"));
}

void sync_selected(session& s, bool allow_expunge) {
  if (!s.selected) return;
  auto& sel = *s.selected;
  auto& v = *sel.view;
  auto lock = v.reader();
  announce_flags(s, v);

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
    // RFC 5267 §4.3.4: REMOVEFROM before the EXPUNGE, while the numbers hold.
    contexts_expunged(s, sel.pending_expunges);
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
  if (grew) {
    s.untagged(fmt::format("{} EXISTS", sel.uids.size()));
    if (!s.rev2) {
      // RFC 3501 §7.3.2: this session is the first to hear of them unless
      // another claimed them already.
      if (!sel.read_only) {
        uint32_t first = sel.uids[before];
        uint32_t upto = sel.uids.back() == UINT32_MAX ? UINT32_MAX : sel.uids.back() + 1;
        uint32_t old = v.claim_recent(upto);
        if (old < upto) sel.add_recent(std::max(old, first), upto);
      }
    }
  }
  // RFC 3501 §7.3.2: the client keeps the count it was last told, so it is
  // told again whenever it changes (new messages, or recent ones expunged).
  if (!s.rev2) {
    uint32_t recent = sel.recent_count();
    if (grew || recent != sel.reported_recent) {
      s.untagged(fmt::format("{} RECENT", recent));
      sel.reported_recent = recent;
    }
  }

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
      line += "FLAGS " + flag_list(v, m, !s.rev2 && sel.is_recent(m.uid));
      if (s.condstore) line += fmt::format(" MODSEQ ({})", m.modseq);
      line += ')';
      s.untagged(line);
    }
    sel.seen_modseq = v.highestmodseq;
  }
  sel.own_changes.clear();
}

}  // namespace postern::session::imap
