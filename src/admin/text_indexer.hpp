// The node's full-text indexer: one thread that takes queued messages into
// each mailbox's index (fts_index.hpp) after their 250/OK went out, so
// indexing never delays an acknowledgement.
//
// - A commit that queues messages wakes it for that user (set_index_listener);
//   so does a SEARCH that met messages not indexed yet, and a change another
//   process (postern deliver) committed to an open mailbox.
// - At start it walks data_dir/mail and takes in whatever a killed node, an
//   upgrade (format 8 queues every message) or `postern deliver` left queued.
// - It runs as SCHED_IDLE (sched(7)): only on a CPU nothing else wants, and
//   any waking thread takes the CPU from it at once (at nice 10 a woken
//   pool thread, SCHED_BATCH, which never preempts on waking, waited for
//   the indexer's time slice; docs/benchmarks.md has what each change to
//   the indexer gained). Once a
//   mailbox's backlog passes catch_up_backlog (a node whose CPUs are never
//   idle), its turns run at nice 10 until the backlog is under half that, so
//   the index still catches up and SEARCH never reads many messages itself.
//   SEARCH stays exact meanwhile (it reads the messages the index does not
//   hold yet).
//
// Threads: wake() and queued() from any thread; start()/stop() from one.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "store/store.hpp"

namespace postern::admin {

struct text_indexer_tuning {
  // Messages taken in per turn: a turn holds a mailbox's indexing lock.
  // Large turns mean few FTS5 segments to merge later: each transaction
  // writes one, and merging is most of what indexing writes to disk.
  size_t batch = 256;
  // A mailbox with more messages than this waiting for the index is
  // taken in at nice 10 instead of SCHED_IDLE, until fewer than half are
  // left: at most about this many messages are read by SEARCH itself.
  uint64_t catch_up_backlog = 10000;
};

class text_indexer {
 public:
  // `enabled` is read before each turn (the IMAP setting full_text_index):
  // while it says no, the indexer waits and the queues keep their entries.
  using tuning = text_indexer_tuning;
  text_indexer(store::store& s, std::string data_dir, std::function<bool()> enabled, tuning t = {})
      : store_(s), data_dir_(std::move(data_dir)), enabled_(std::move(enabled)), tuning_(t) {}
  ~text_indexer() { stop(); }
  text_indexer(const text_indexer&) = delete;
  text_indexer& operator=(const text_indexer&) = delete;

  void start();
  void stop();
  void wake(int64_t user_id);
  // Messages known to wait for the index (the last count of each mailbox
  // visited), and messages indexed since start.
  uint64_t queued() const;
  uint64_t indexed() const { return indexed_.load(); }
  // Turns taken while a mailbox's backlog was past catch_up_backlog.
  uint64_t catch_up_turns() const { return catch_up_turns_.load(); }
  // After a wake-up the indexer waits this long before a turn, so messages
  // arriving one by one are indexed together (SEARCH reads a message the
  // index does not hold yet itself, so waiting changes no answer).
  static constexpr std::chrono::milliseconds gather{250};
  // Between two steps of tidying an index (merging its segments).
  static constexpr std::chrono::milliseconds tidy_pause{20};

 private:
  void loop();
  void sweep();
  void index_user(int64_t user_id);
  // Merges what index_queued() left of one mailbox's index while no other
  // mailbox waits (store::mailbox::tidy_index).
  void tidy(store::mailbox& mb);
  // SCHED_OTHER at nice 10 while catching up, SCHED_IDLE otherwise; best
  // effort (leaving SCHED_IDLE needs RLIMIT_NICE >= 10 or CAP_SYS_NICE).
  void set_policy(bool catching_up);

  store::store& store_;
  std::string data_dir_;
  std::function<bool()> enabled_;
  tuning tuning_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<int64_t> order_;
  std::set<int64_t> waiting_;
  std::map<int64_t, uint64_t> queued_;  // user id -> messages still queued
  bool stopping_ = false;
  std::atomic<uint64_t> indexed_{0};
  std::atomic<uint64_t> catch_up_turns_{0};
  // The indexer thread's own:
  bool behind_ = false;  // the backlog passed catch_up_backlog
  bool at_nice_ = true;  // SCHED_OTHER (nice 10), not SCHED_IDLE
  bool told_no_nice_ = false;
};

}  // namespace postern::admin
