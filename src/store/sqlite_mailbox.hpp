// SQLite-backed mailbox: one index.sqlite (WAL) and a blobs/ folder per user.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "db/sqlite.hpp"
#include "mime/message_structure.hpp"
#include "store/fts_index.hpp"
#include "store/store.hpp"

namespace postern::store {

class sqlite_mailbox final : public mailbox {
 public:
  // Opens or creates the mailbox folder `root`; fails with the file and reason.
  static base::result<std::shared_ptr<sqlite_mailbox>> open(int64_t user_id, std::string root);
  ~sqlite_mailbox() override;

  base::result<uint32_t> append(std::string_view folder, const new_message& msg) override;
  base::result<uint32_t> append_file(std::string_view folder, const spooled_message& msg) override;
  base::result<folder_info> folder(std::string_view name) override;
  base::result<std::vector<message_meta>> list(std::string_view folder) override;
  base::result<size_t> expunge(std::string_view folder, std::span<const uint32_t> uids) override;
  base::status sync() override;
  base::result<int> open_blob(uint64_t blob_id, uint32_t uid) override;
  std::optional<int> open_blob_cached(uint64_t blob_id) override;
  base::result<std::string> read_kept_blob(uint64_t blob_id, uint32_t uid) override;
  notifier& changes() override { return notifier_; }
  int64_t user_id() const override { return user_id_; }

  base::result<std::vector<folder_entry>> folders() override;
  base::status create_folder(std::string_view name, std::string_view special_use) override;
  base::status delete_folder(std::string_view name) override;
  base::status rename_folder(std::string_view from, std::string_view to) override;
  base::status subscribe(std::string_view name, bool on) override;
  base::result<std::vector<std::string>> subscriptions() override;
  base::result<std::shared_ptr<folder_view>> view(std::string_view folder) override;
  std::optional<std::shared_ptr<folder_view>> resident_view(std::string_view folder) override;
  base::result<folder_listing> listing() override;
  std::optional<folder_listing> resident_listing() override;
  base::result<flag_result> store_flags(std::string_view folder, std::span<const uint32_t> uids,
                                        const flag_update& update) override;
  base::result<copy_result> copy(std::string_view from, std::span<const uint32_t> uids,
                                 std::string_view to, bool move) override;
  base::result<appended> append_files(std::string_view folder,
                                      std::span<const spooled_message> msgs,
                                      std::span<const std::vector<std::string>> keywords) override;
  base::result<std::vector<uint32_t>> expunged_since(std::string_view folder,
                                                     uint64_t modseq) override;
  base::result<std::string> structure(std::string_view folder, uint32_t uid) override;
  base::result<std::vector<std::optional<stored_structure>>> structures(
      std::string_view folder, const std::vector<uint32_t>& uids, bool headers,
      bool parts) override;
  base::status save_recent(std::string_view folder, uint32_t uid) override;
  base::result<usage> total_usage() override;
  base::result<usage> folder_usage(std::string_view folder) override;
  base::result<check_report> check(check_mode mode) override;
  base::result<sort_table> sort_records(std::string_view folder) override;
  base::result<sort_ranks> sort_key_ranks(std::string_view folder, const sort_table& table,
                                          sort_string key) override;
  base::result<std::vector<std::optional<std::string>>> previews(
      std::string_view folder, const std::vector<uint32_t>& uids) override;
  base::result<text_answer> search_text(std::span<const text_query> queries) override;
  base::result<index_progress> index_queued(size_t max) override;
  base::result<size_t> reindex(std::string_view folder) override;
  base::result<bool> tidy_index() override;
  base::result<std::pair<uint64_t, uint64_t>> index_state() override;
  // When SQLite cannot repair the index in place: builds a new one beside it
  // from what the damaged one still reads (folders, UIDs' order, flags) and
  // the message files (the rest go to Recovered), with new UIDVALIDITYs, then
  // swaps the folders, keeping the damaged one as ROOT.damaged-TIME. No
  // mailbox object of the user may be open (sqlite_store ensures it).
  static base::result<check_report> rebuild(int64_t user_id, const std::string& root);
  // Notifies subscribers when another process committed (store::poll_external_changes).
  void poll_external_changes();

 private:
  struct pending_append {
    std::string folder;
    int64_t folder_id = 0;  // set by the commit
    uint64_t size = 0;      // of the canonical message
    uint64_t blob = 0;
    int64_t internal_date;
    uint32_t flags;
    uint32_t dot_lines;
    std::vector<std::string> keywords;
    // Kept in the index (inline_blobs), not as a file; `blob` is set to its
    // id by the commit. The bytes stay the caller's until then.
    bool keep_inline = false;
    std::string_view inline_bytes;
    mime::message_structure structure;
    std::string envelope;  // IMAP ENVELOPE of `structure`, rendered before any lock
    // BODYSTRUCTURE and BODY of `structure`, rendered with the envelope, and
    // the header's bytes (up to max_cached_header), taken when it is parsed.
    std::string bodystructure, body;
    std::optional<std::string> header;
    // SORT and THREAD keys (mime::sort_record), serialized, and PREVIEW
    // (RFC 8970), made from the bytes while they are parsed.
    std::string sort_keys, preview;
    // Parses the message and keeps its header; `progress` as mime::parse's.
    void parse(std::string_view bytes, const mime::progress_fn* progress = nullptr);
    // Renders what FETCH reads from the index (outside any lock).
    void render();
    // Binds this message's row to a statement prepared from insert_sql.
    void bind_row(db::statement& ins, int64_t folder_id, uint32_t uid, uint64_t modseq,
                  int64_t save_date) const;
    static const char* const insert_sql;
    std::optional<base::result<uint32_t>> outcome;
    bool done = false;
  };

  sqlite_mailbox(int64_t user_id, std::string root, db::database db, int blobs_fd);
  base::status create_schema();
  base::result<uint32_t> commit(pending_append& p);
  void commit_batch(std::vector<pending_append*>& batch);
  base::result<uint32_t> next_uidvalidity();
  // `messages` is counted only when count_messages is set (0 otherwise).
  base::result<folder_info> find_folder(std::string_view name, bool create_inbox,
                                        bool count_messages = false);
  base::status create_folder_row(std::string_view name, std::string_view special_use);
  base::status migrate_to_3();
  base::status migrate_to_8();
  // The folder's keyword list, extended by `names` (up to max_keywords_per_folder).
  base::result<std::vector<std::string>> folder_keywords(int64_t folder_id,
                                                         std::span<const std::string> names);
  // Inside a commit (under db_mu_): stores the bytes of an inline message
  // and sets its blob id; nothing for a file.
  base::status store_inline(pending_append& p);
  // Inside the transaction that dropped message rows (under db_mu_): deletes
  // the inline blobs among `blobs` that no message refers to any more.
  base::status drop_unreferenced_inline(std::span<const uint64_t> blobs);
  // Unlinks the blobs no message refers to any more, after the commit that
  // dropped their rows: at once when it was a full commit, else once the WAL
  // holding it is synced (a file may outlive its row, never the reverse).
  void remove_unreferenced(std::span<const uint64_t> blobs, db::sync_mode committed);
  // After a full commit, under db_mu_: unlinks what waited for one.
  void unlink_synced();
  // Syncs the WAL if blobs wait for it and unlinks them (the watcher thread,
  // so they wait at most its period; and on close).
  void flush_unlinks();
  // Brings every live view up to date from the index, or only those of the
  // folders `only` names (a commit of this process: another process's
  // commits are seen by poll_external_changes, which refreshes all); call
  // without db_mu_.
  void refresh_views(std::initializer_list<int64_t> only = {});
  // After this process's own commit that took folder `folder_id` from
  // HIGHESTMODSEQ `before` to `after`: the view takes the changes it made
  // (new flags and keywords by name, or expunged UIDs) without reading them
  // back. A view not exactly at `before` (another commit's refresh is still
  // to come, or came first) is refreshed from the index instead, so the
  // result is the same either way. Call without db_mu_.
  struct flag_patch {
    uint32_t uid;
    uint32_t flags;
    uint64_t modseq;
    std::vector<std::string> keywords;
  };
  void patch_view(int64_t folder_id, uint64_t before, uint64_t after,
                  std::span<const flag_patch> changed, std::span<const uint32_t> expunged);
  // Parses, links and records a spooled message (outside any lock).
  base::status prepare_file(pending_append& p, const spooled_message& msg);

  // For the I/O thread, under a db_mu_ it holds with try_lock: whether no
  // other process committed since poll_external_changes last looked (PRAGMA
  // data_version reads the WAL index in shared memory, never the disk).
  bool no_external_commit_pending();
  // Under db_mu_: LIST's two reads.
  base::result<std::vector<folder_entry>> read_folders();
  base::result<std::vector<std::string>> read_subscriptions();
  // Under db_mu_, by every commit that changes folders or subscriptions.
  void forget_listing();

  // Full-text index (sqlite_fts.cpp). queue_for_index runs in the
  // transaction that stores the message (db_mu_ held); forget_indexed notes
  // files whose last message went, for the indexer to drop.
  base::status queue_for_index(uint64_t blob);
  void announce_queued();
  void forget_indexed(std::span<const uint64_t> blobs);
  base::result<fts_index*> text_index();
  // mailbox check: the index against the messages (and, repairing, queueing
  // what it lacks and dropping what no message names).
  void check_text_index(check_report& rep, bool repair);
  std::mutex fts_mu_;  // guards fts_ and fts_gone_; taken after db_mu_
  std::unique_ptr<fts_index> fts_;
  std::vector<int64_t> fts_gone_;
  std::mutex indexing_mu_;  // one index_queued() or reindex() at a time

  // Sort keys never change once stored: each folder's are kept in memory
  // after a SORT or THREAD, and the next one reads only UIDs above the last
  // (sqlite_sort.cpp), with the ranks of the string keys SORT asked for,
  // which belong to that table and go when it grows. An expunge drops the
  // folder's entry.
  struct sort_cache {
    uint32_t uidvalidity = 0;
    uint32_t last_uid = 0;
    sort_table rows;
    std::array<sort_ranks, sort_string_count> ranks;
  };
  std::mutex sort_mu_;  // guards sort_cache_; a leaf (nothing is taken under it)
  std::map<int64_t, sort_cache> sort_cache_;
  void forget_sort_keys(int64_t folder_id);

  int64_t user_id_;
  std::string root_;
  std::string blobs_dir_;
  int blobs_fd_;
  notifier notifier_;
  // The last PRAGMA data_version seen (poll_external_changes runs on the
  // node's watcher thread and at every view()).
  std::atomic<uint64_t> data_version_{0};

  std::mutex db_mu_;  // guards db_
  db::database db_;
  // Blobs of expunged messages whose deferred commit is not yet synced: they
  // count as gone (open_blob says not_found) though their files are kept.
  // Taken after db_mu_ when both are held.
  std::mutex unlink_mu_;
  std::vector<uint64_t> unlink_after_sync_;
  bool unlink_pending(uint64_t blob);

  // Readers of message data (FETCH ENVELOPE/BODYSTRUCTURE, SEARCH, QUOTA)
  // use connections of their own, each its own WAL snapshot, so they never
  // wait behind the writer's commits or each other.
  struct reader {
    std::mutex mu;
    db::database db;
    bool opened = false;
  };
  static constexpr size_t reader_count = 4;
  reader readers_[reader_count];
  std::atomic<size_t> next_reader_{0};
  // Runs `f` on a free reader connection (opened on first use).
  template <class F>
  auto with_reader(F&& f) -> decltype(f(std::declval<db::database&>()));
  // The same on the writer's connection when no one holds it, else on a
  // reader: never waits. A reader's page cache is dropped whenever another
  // connection commits, so under a mixed load every FETCH read its pages
  // again with a syscall each; the writer's own commits keep its cache.
  template <class F>
  auto with_warm_connection(F&& f) -> decltype(f(std::declval<db::database&>()));

  // LIST's answer as last read (listing()), until a commit changes it.
  std::mutex listing_mu_;  // guards listing_; taken after db_mu_
  std::optional<folder_listing> listing_;

  std::mutex views_mu_;  // guards views_
  // One refresh at a time, so an older one never lands after a newer one.
  std::mutex refresh_mu_;
  // By folder id. Kept while the mailbox is open, so \Recent claims made in
  // memory are never forgotten while any session of the user exists.
  std::map<int64_t, std::shared_ptr<folder_view>> views_;

  // Group commit: appenders queue here; one of them commits the whole queue
  // in a single fsync of blobs/ and one transaction.
  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::vector<pending_append*> queue_;
  bool committing_ = false;
};

}  // namespace postern::store
