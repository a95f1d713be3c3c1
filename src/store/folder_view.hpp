// One folder's state in memory, shared by every session that has it selected:
// UIDs, flags, keywords and modseqs in UID order, and the expunges since the
// view was loaded. Sessions read it on their I/O thread without touching the
// disk; each keeps only its own sequence map (4 bytes per message) and the
// modseq it has caught up to (RFC 7162 §3.1: every change raises the folder's
// HIGHESTMODSEQ, so "what changed since N" is a scan of entries above N).
//
// The store refreshes a view after each commit of its own, and when another
// process (postern deliver) committed, from the index: rows and expunge
// tombstones whose modseq is above the view's highestmodseq. So one refresh
// path serves every writer, and a view can never miss a change.
//
// Threads: readers take a shared lock (reader()), the store an exclusive one
// while it merges a refresh; merging is in memory and brief.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace postern::store {

// RFC 9051 §2.3.2: keywords per folder are finite; this many fit the mask.
inline constexpr size_t max_keywords_per_folder = 64;

class folder_view {
 public:
  int64_t folder_id = 0;
  std::string name;
  uint32_t uidvalidity = 0;
  uint64_t uidnext = 1;
  uint64_t highestmodseq = 0;
  std::vector<message_meta> messages;  // UID order
  // (uid, modseq) of each message expunged since the view was loaded, in
  // modseq order.
  std::vector<std::pair<uint32_t, uint64_t>> expunged;
  uint64_t loaded_at_modseq = 0;      // expunges at or below it are not listed
  std::vector<std::string> keywords;  // bit i of message_meta::keywords names keywords[i]
  bool deleted = false;               // the folder was deleted or renamed away
  // The first UID no session has claimed as \Recent (RFC 3501 §2.3.2): a
  // session claims [recent_uid, n) by advancing it, so exactly one session
  // sees each message as recent. Loaded from the index, saved on SELECT.
  std::atomic<uint32_t> recent_uid{0};
  // Advances recent_uid to `upto` if it is below; returns the value before.
  uint32_t claim_recent(uint32_t upto) {
    uint32_t old = recent_uid.load();
    while (old < upto && !recent_uid.compare_exchange_weak(old, upto)) {
    }
    return old;
  }

  std::shared_lock<std::shared_mutex> reader() const { return std::shared_lock(mu_); }
  std::unique_lock<std::shared_mutex> writer() { return std::unique_lock(mu_); }

  // The message with this UID, or nullptr.
  const message_meta* find(uint32_t uid) const {
    auto it = std::lower_bound(messages.begin(), messages.end(), uid,
                               [](const message_meta& m, uint32_t u) { return m.uid < u; });
    return it != messages.end() && it->uid == uid ? &*it : nullptr;
  }
  // Index of keyword `name` (case-insensitive), or -1.
  int keyword_index(std::string_view name) const;

 private:
  mutable std::shared_mutex mu_;
};

}  // namespace postern::store
