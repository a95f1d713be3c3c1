// The mailbox store: folders, messages, UIDs, flags, modseq, blobs and change
// notification, shared by every protocol.
//
// Durability: append() returns only after the message is on disk (blob
// fdatasync'd, its directory fsync'd, index transaction committed with
// synchronous=FULL; a message kept inline is in that transaction); a caller
// may acknowledge it as soon as it returns.
// store_flags() and expunge() survive the process being killed when they
// return, and power loss once sync() or any later append has returned (their
// commits are not fsync'd, as Dovecot does not fsync its index log; an
// expunged message's file is removed only after that point).
// Threads: every method is thread-safe and blocking (disk I/O); call it from the
// blocking pool, never from an I/O thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "mime/sort_record.hpp"
#include "store/notifier.hpp"
#include "store/sort_ranks.hpp"

namespace postern::store {

// System flags (RFC 9051 §2.3.2) as bits.
enum message_flag : uint32_t {
  flag_seen = 1,
  flag_answered = 2,
  flag_flagged = 4,
  flag_deleted = 8,
  flag_draft = 16,
};

struct folder_info {
  int64_t id = 0;
  std::string name;
  uint32_t uidvalidity = 0;
  uint64_t uidnext = 1;  // 2^32 once every UID is used: appends are refused then
  uint64_t highestmodseq = 0;
  uint32_t messages = 0;
};

// What append_files() stored: the folder's UIDVALIDITY and the new UIDs in
// order (APPENDUID, RFC 4315 §3).
struct appended {
  uint32_t uidvalidity = 0;
  std::vector<uint32_t> uids;
};

struct message_meta {
  uint32_t uid = 0;
  uint64_t size = 0;          // bytes as stored (CRLF line endings)
  int64_t internal_date = 0;  // unix seconds
  uint32_t flags = 0;
  uint64_t modseq = 0;
  uint64_t header_size = 0;  // bytes of the header including the blank line
  uint32_t dot_lines = 0;    // lines starting with '.', which POP3 must byte-stuff
  uint64_t blob_id = 0;      // names the file under the mailbox's blobs/ folder
  uint64_t keywords = 0;     // bit i: the folder's keyword i (folder_view::keywords)
  int64_t save_date = 0;     // unix seconds it was stored in this folder (RFC 8514)
};

// A folder as LIST shows it. Names are UTF-8 with "/" as the hierarchy
// separator; they never reach a file path (paths come from ids only).
struct folder_entry {
  int64_t id = 0;
  std::string name;
  std::string special_use;  // "\\Sent" etc. (RFC 6154), "" for none
  bool subscribed = false;
};

// What LIST and LSUB read: every folder, and the subscribed names.
struct folder_listing {
  std::vector<folder_entry> folders;  // by name
  std::vector<std::string> subscribed;
};

// How STORE changes flags (RFC 9051 §6.4.6).
enum class flag_change { replace, add, remove };

struct flag_update {
  flag_change how = flag_change::add;
  uint32_t flags = 0;                 // system flags
  std::vector<std::string> keywords;  // as sent; compared case-insensitively
  // CONDSTORE UNCHANGEDSINCE (RFC 7162 §3.1.3): messages whose modseq is above
  // it are left alone and reported in `modified`.
  std::optional<uint64_t> unchanged_since;
};

struct flag_result {
  std::vector<message_meta> changed;  // new flags and modseq of each message changed
  std::vector<uint32_t> modified;     // UIDs that failed UNCHANGEDSINCE
};

// COPY / MOVE (RFC 4315 COPYUID, RFC 6851).
struct copy_result {
  uint32_t uidvalidity = 0;                      // of the destination
  std::vector<uint32_t> source_uids, dest_uids;  // pairwise
};

struct usage {
  uint64_t bytes = 0;
  uint64_t messages = 0;
};

// A message's MIME structure text (mime::serialize) and what FETCH reads
// instead of the structure or the blob, as rendered at delivery: ENVELOPE
// (none for messages stored before index format 5); BODYSTRUCTURE, BODY and
// the top-level header's bytes (none before format 6, and no header over
// max_cached_header).
struct stored_structure {
  std::string structure;
  std::optional<std::string> envelope;
  std::optional<std::string> bodystructure, body, header;
};
inline constexpr uint64_t max_cached_header = 64 * 1024;
inline constexpr uint64_t header_batch_bytes = 1024 * 1024;

class folder_view;

// What a SEARCH text key reads (mime::search_document's fields); `text` is
// headers or body.
enum class text_field { subject, from, to, cc, bcc, headers, body, text };
struct text_query {
  text_field field = text_field::body;
  std::string folded;  // mime::search_fold()ed, not empty
  bool fuzzy = false;  // RFC 6203: most of the needle's trigrams, not all in order
};
// The full-text index's answer: for each query the blob ids (as stored, cast
// to int64) whose field holds the text, ascending; and the blob ids the
// index cannot answer for (not indexed yet, or cut at max_indexed_text),
// ascending, which the caller must read itself.
struct text_answer {
  std::vector<std::vector<int64_t>> hits;
  std::vector<std::vector<uint8_t>> scores;  // per query, with hits: relevancy 1-100
  std::vector<int64_t> unindexed;
};

// `postern mailbox check|repair` (mailbox_check.cpp): what was found wrong
// with a mailbox's index and files, and what repair did about it.
struct check_finding {
  std::string kind;    // "missing file", "orphan file", "uidnext", "duplicate uid", "modseq",
                       // "size", "structure", "index"
  std::string folder;  // empty for the mailbox as a whole
  uint32_t uid = 0;    // 0 when not about one message
  std::string detail;  // what is wrong, with the file or row it is about
  std::string action;  // what repair did; empty when nothing (check, or not repairable)
};
struct check_report {
  uint64_t folders = 0, messages = 0, files = 0;
  std::vector<check_finding> findings;
  bool uidvalidity_changed = false;  // only when recovery without it was impossible
  std::string quarantine;            // where orphan files were moved, if any
};
// check: only report. repair: fix what is found, never changing UIDVALIDITY
// or an existing UID unless recovery is impossible. restore: repair, and
// put the quarantined orphan files back as messages of the folder Recovered.
enum class check_mode { check, repair, restore };

struct new_message {
  std::string_view bytes;     // RFC 5322 message; line endings are canonicalised to CRLF
  int64_t internal_date = 0;  // 0 means now
  uint32_t flags = 0;
};

// A message being received into a file (LMTP DATA, later IMAP APPEND), in the
// store's spool folder on the same file system as the mailboxes, so that
// append_file() can link it instead of copying. The owner removes it with
// discard() once every recipient's copy is committed (or on failure).
//
// Where the file system allows it the file has no name (O_TMPFILE): nothing
// to unlink afterwards and nothing left behind by a crash; `path` then names
// the spool folder for messages, and link_source() is /proc/self/fd/N.
struct spool_file {
  int fd = -1;
  std::string path;
  bool unnamed = false;
  spool_file() = default;
  spool_file(int f, std::string p, bool u = false) : fd(f), path(std::move(p)), unnamed(u) {}
  spool_file(spool_file&& o) noexcept : fd(o.fd), path(std::move(o.path)), unnamed(o.unnamed) {
    o.fd = -1;
    o.path.clear();
  }
  spool_file& operator=(spool_file&& o) noexcept;
  spool_file(const spool_file&) = delete;
  ~spool_file() { discard(); }
  // The path linkat() follows to give the file a (further) name.
  std::string link_source() const;
  // Closes and unlinks; blobs linked from it stay.
  void discard();
};

struct spooled_message {
  const spool_file* file = nullptr;  // complete and canonical (canonical_stream)
  uint64_t size = 0;
  uint32_t dot_lines = 0;
  int64_t internal_date = 0;  // 0 means now
  uint32_t flags = 0;
  // append_files() only: with no file, the canonical message itself (a small
  // IMAP APPEND, not spooled first): kept in the index, written by the
  // commit, when at most max_inline_blob (blob_file.hpp), else written once,
  // straight to its blob.
  std::string_view bytes;
};

// One user's mailbox. Sessions of every protocol share one object per user
// within a process, so its notifier reaches all of them.
class mailbox {
 public:
  virtual ~mailbox() = default;

  // Stores a message; returns its UID. Creates the folder if it is INBOX.
  // Refused with limit_exceeded, never wrapped, once UIDs would pass 2^32-1.
  virtual base::result<uint32_t> append(std::string_view folder, const new_message& msg) = 0;
  // The same for a message in a spool file: it is synced and linked as the
  // blob (no copy, no message in memory; the MIME structure is parsed from a
  // read-only mapping). The spool file stays the caller's to discard.
  virtual base::result<uint32_t> append_file(std::string_view folder,
                                             const spooled_message& msg) = 0;
  virtual base::result<folder_info> folder(std::string_view name) = 0;
  // Messages of a folder in UID order.
  virtual base::result<std::vector<message_meta>> list(std::string_view folder) = 0;
  // Removes messages (durable as described above); UIDs already gone are
  // ignored. Returns how many were removed.
  virtual base::result<size_t> expunge(std::string_view folder, std::span<const uint32_t> uids) = 0;
  // Makes every change so far durable against power loss (one fsync).
  virtual base::status sync() = 0;
  // Opens a message's immutable blob read-only. not_found when another session
  // expunged it; the caller owns the returned file descriptor. `uid` is for
  // the error message.
  virtual base::result<int> open_blob(uint64_t blob_id, uint32_t uid) = 0;
  // The same without ever blocking, for an I/O thread: succeeds only when the
  // kernel can resolve the name from its caches (openat2 RESOLVE_CACHED);
  // nullopt means "use open_blob on the blocking pool".
  virtual std::optional<int> open_blob_cached(uint64_t) { return std::nullopt; }
  // A small message an IMAP APPEND stored is kept in the index, not in a
  // file (kept_inline(blob_id)): its bytes without a descriptor, for a reader
  // that wants them in memory anyway (FETCH). not_found as for open_blob.
  virtual base::result<std::string> read_kept_blob(uint64_t blob_id, uint32_t uid) = 0;
  virtual notifier& changes() = 0;
  virtual int64_t user_id() const = 0;

  // --- Folders (IMAP) ---
  virtual base::result<std::vector<folder_entry>> folders() = 0;
  // already_exists, or invalid_argument for a name that is not acceptable.
  virtual base::status create_folder(std::string_view name, std::string_view special_use) = 0;
  // Refused for INBOX and for a folder with children; its messages go with it.
  virtual base::status delete_folder(std::string_view name) = 0;
  // Renames a folder and its children; renaming INBOX moves its messages to
  // a new folder and leaves INBOX empty (RFC 9051 §6.3.6).
  virtual base::status rename_folder(std::string_view from, std::string_view to) = 0;
  // Subscriptions are names (RFC 9051 §6.3.7): one may name no folder.
  virtual base::status subscribe(std::string_view name, bool on) = 0;
  virtual base::result<std::vector<std::string>> subscriptions() = 0;
  // Both, read together.
  virtual base::result<folder_listing> listing() {
    auto f = folders();
    if (!f) return f.err();
    auto subs = subscriptions();
    if (!subs) return subs.err();
    return folder_listing{std::move(*f), std::move(*subs)};
  }
  // The same without ever blocking, for an I/O thread: the last listing()
  // when no change to folders or subscriptions has been made since, by this
  // process or another; nullopt means "use listing() on the reading pool".
  virtual std::optional<folder_listing> resident_listing() { return std::nullopt; }

  // The shared, always current in-memory state of a folder (UIDs, flags,
  // modseqs) that every session of the folder reads: see folder_view.hpp.
  virtual base::result<std::shared_ptr<folder_view>> view(std::string_view folder) = 0;
  // The same without ever blocking, for an I/O thread: the view when it is
  // already in memory and nothing another process committed is waiting to be
  // merged into it; nullopt means "use view() on the reading pool". So SELECT
  // and STATUS of a folder some session has open never queue behind other
  // sessions' FETCH work.
  virtual std::optional<std::shared_ptr<folder_view>> resident_view(std::string_view) {
    return std::nullopt;
  }

  // --- Changes (IMAP) ---
  virtual base::result<flag_result> store_flags(std::string_view folder,
                                                std::span<const uint32_t> uids,
                                                const flag_update& update) = 0;
  // Copies (shares the blobs; no bytes are copied) or moves atomically.
  virtual base::result<copy_result> copy(std::string_view from, std::span<const uint32_t> uids,
                                         std::string_view to, bool move) = 0;
  // Stores several spooled messages in one transaction: all or none
  // (MULTIAPPEND, RFC 3502). Keywords per message are given by name.
  virtual base::result<appended> append_files(
      std::string_view folder, std::span<const spooled_message> msgs,
      std::span<const std::vector<std::string>> keywords) = 0;
  // Records that UIDs below `uid` have been seen as \Recent (RFC 3501 §2.3.2).
  virtual base::status save_recent(std::string_view folder, uint32_t uid) = 0;
  // UIDs expunged from a folder after `modseq` (QRESYNC VANISHED (EARLIER)).
  virtual base::result<std::vector<uint32_t>> expunged_since(std::string_view folder,
                                                             uint64_t modseq) = 0;
  // The MIME structure text saved at delivery (mime::serialize).
  virtual base::result<std::string> structure(std::string_view folder, uint32_t uid) = 0;
  // The same for many messages in one read (FETCH 1:* (ENVELOPE)), with the
  // renderings kept at delivery; an entry is empty for a UID that is no
  // longer in the folder. Headers are read only when `headers` is given, and
  // then at most header_batch_bytes of them in one call (the rest have none,
  // and are read from their files), so a batch's memory stays bounded.
  // Without `parts` the structure text is left empty where ENVELOPE, BODY
  // and BODYSTRUCTURE are all kept (only a section or BINARY needs it then).
  virtual base::result<std::vector<std::optional<stored_structure>>> structures(
      std::string_view folder, const std::vector<uint32_t>& uids, bool headers = false,
      bool parts = true) = 0;
  virtual base::result<usage> total_usage() = 0;
  // Folder message count and size (STATUS SIZE).
  virtual base::result<usage> folder_usage(std::string_view folder) = 0;

  // Verifies the index against its files and itself, and with a repair mode
  // fixes what it found (see check_mode). Safe while sessions use the
  // mailbox: they see repairs as they see other sessions' changes.
  virtual base::result<check_report> check(check_mode) {
    return base::error{base::errc::unavailable, "this store cannot check mailboxes", ""};
  }

  // --- SORT, THREAD, PREVIEW ---
  // Every message of a folder with its sort keys, in UID order; shared and
  // immutable (a store may keep it for the next call). It may also hold
  // messages expunged since; look up only UIDs you have.
  using sort_table = std::shared_ptr<const std::vector<sorted_message>>;
  virtual base::result<sort_table> sort_records(std::string_view) {
    return base::error{base::errc::unavailable, "this store keeps no sort keys", ""};
  }
  // The ranks of one string key over `table` (sort_ranks.hpp), which
  // sort_records() returned; a store may keep them with the table.
  virtual base::result<sort_ranks> sort_key_ranks(std::string_view, const sort_table& table,
                                                  sort_string key) {
    return std::make_shared<const key_ranks>(make_ranks(*table, key));
  }
  // PREVIEW text (RFC 8970) of each UID; nullopt for a UID no longer there.
  virtual base::result<std::vector<std::optional<std::string>>> previews(
      std::string_view, const std::vector<uint32_t>&) {
    return base::error{base::errc::unavailable, "this store keeps no previews", ""};
  }

  // --- Full-text index (fts_index.hpp) ---
  // Answers SEARCH text keys; unavailable when this store keeps no index (the
  // caller then reads every message).
  virtual base::result<text_answer> search_text(std::span<const text_query>) {
    return base::error{base::errc::unavailable, "this store keeps no full-text index", ""};
  }
  // Indexes up to `max` queued messages: how many it took in, and how many
  // are still queued.
  struct index_progress {
    size_t indexed = 0;
    size_t queued = 0;
  };
  virtual base::result<index_progress> index_queued(size_t) { return index_progress{}; }
  // Drops the index of a folder's messages (every folder's when empty) and
  // queues them again; returns how many were queued.
  virtual base::result<size_t> reindex(std::string_view) {
    return base::error{base::errc::unavailable, "this store keeps no full-text index", ""};
  }
  // One step of tidying the index once it has grown enough (for SQLite:
  // merging its segments, fts_index::merge_step); true while there is more.
  virtual base::result<bool> tidy_index() { return false; }
  // Messages queued for the index and the index's bytes on disk.
  virtual base::result<std::pair<uint64_t, uint64_t>> index_state() {
    return std::pair<uint64_t, uint64_t>{0, 0};
  }
};

class store {
 public:
  virtual ~store() = default;
  // Opens (creating on first use) the mailbox of a user id from the directory.
  virtual base::result<std::shared_ptr<mailbox>> open(int64_t user_id) = 0;
  // Deletes a user's whole mailbox from disk.
  virtual base::status destroy(int64_t user_id) = 0;
  // A new empty file in the spool folder (data_dir/spool).
  virtual base::result<spool_file> create_spool() = 0;
  // Rebuilds a user's index from its files when it is damaged beyond an
  // in-place repair (check() failed with corrupt): UIDVALIDITY changes. in_use
  // while any session still holds the mailbox (end them first); opens of the
  // mailbox fail with `temporary` until it is done.
  virtual base::result<check_report> rebuild(int64_t) {
    return base::error{base::errc::unavailable, "this store cannot rebuild mailboxes", ""};
  }
  // Wakes the sessions of every open mailbox that another process (postern
  // deliver) changed since the last call. The node calls it a few times a
  // second; it only reads.
  virtual void poll_external_changes() = 0;
};

// Told how long each durable commit of new messages took (the sync of the
// blob folder and the index transaction), for the node's
// postern_store_commit_seconds. Set once, before any mailbox is opened.
void set_commit_listener(std::function<void(std::chrono::microseconds)> listener);

// Told the user id of a mailbox whose commit queued messages for its
// full-text index (the node's indexer then takes them in). Set once, before
// any mailbox is opened.
void set_index_listener(std::function<void(int64_t user_id)> listener);

// The SQLite implementation: data_dir/mail/<user-id>/{index.sqlite,blobs/}.
std::unique_ptr<store> make_sqlite_store(std::string data_dir);

// A blob id with this bit names a message kept in the index, in the
// inline_blobs row the other bits number (store/blob_file.hpp); file ids come
// from the clock in nanoseconds and stay below it until the year 2262.
inline constexpr uint64_t kept_inline_bit = uint64_t{1} << 63;
inline constexpr bool kept_inline(uint64_t blob_id) { return (blob_id & kept_inline_bit) != 0; }

// POP3 UIDL for a message: never changes while UIDVALIDITY holds (RFC 1939 §7).
std::string pop3_uidl(uint32_t uidvalidity, uint32_t uid);

}  // namespace postern::store
