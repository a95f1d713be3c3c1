// The outbound queue's durable state: one SQLite database
// (data_dir/queue/queue.sqlite) with a row per message and per recipient, and
// the message itself in data_dir/queue/messages/<id>.eml, exactly as it will
// be relayed (CRLF lines, not dot-stuffed).
//
// Durability: enqueue() writes and fsyncs the file, renames it into place,
// fsyncs the folder and only then commits the rows (synchronous=FULL), so a
// message it returned an id for survives kill -9 and power loss. A file
// without rows (killed between the two) is removed by recover(); rows are
// never without their file.
//
// Threads: every method locks; the submission sessions, the relay worker and
// the admin commands share one object.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "db/sqlite.hpp"

namespace postern::queue {

// One recipient's state: queued (waiting for an attempt), sent (the relay
// accepted it), failed (a 5xx or queue_lifetime: bounced), deleted (by an
// administrator).
struct queued_recipient {
  int64_t id = 0;
  std::string address;
  std::string domain;  // lower case; the unit of parallel relaying
  std::string state = "queued";
  uint32_t attempts = 0;
  int64_t next_attempt = 0;  // unix seconds
  std::string last_reply;    // the relay's reply or the connection error
  std::string notify;        // RFC 3461 NOTIFY as given ("" for the default)
  std::string orcpt;         // RFC 3461 ORCPT as given
};

struct queued_message {
  std::string id;
  std::string sender;   // the envelope sender; "" is the null path (a bounce)
  int64_t user_id = 0;  // who submitted it (0: the node itself, for bounces)
  std::string user;
  int64_t created = 0;  // unix seconds
  uint64_t size = 0;
  std::string message_id;
  std::string envid;  // RFC 3461 ENVID
  std::string ret;    // RFC 3461 RET: "FULL", "HDRS" or ""
  bool smtputf8 = false;
  bool requiretls = false;  // RFC 8689
  bool warned = false;      // the delay warning went out
  std::vector<queued_recipient> recipients;
};

// What enqueue() records besides the message bytes.
struct new_message {
  std::string sender;
  int64_t user_id = 0;
  std::string user;
  std::string message_id;
  std::string envid, ret;
  bool smtputf8 = false, requiretls = false;
  struct recipient {
    std::string address, notify, orcpt;
  };
  std::vector<recipient> recipients;
};

// The message bytes for enqueue(): in memory, or a file of `size` bytes.
struct message_source {
  std::string_view memory;
  int fd = -1;
  uint64_t size = 0;
};

struct queue_filter {
  std::string sender, recipient;  // substrings, case-insensitive; "" matches all
};

struct queue_stats {
  uint64_t messages = 0;    // with a recipient still queued
  uint64_t recipients = 0;  // queued
  int64_t oldest = 0;       // created time of the oldest, 0 when empty
};

class queue_store {
 public:
  // Opens (creating) data_dir/queue; the error names the path.
  static base::result<std::unique_ptr<queue_store>> open(const std::string& data_dir);

  // Writes the message durably and returns its id.
  base::result<std::string> enqueue(const new_message& m, const message_source& bytes, int64_t now);
  // Messages with a recipient still queued, oldest first.
  base::result<std::vector<queued_message>> list(const queue_filter& f);
  // One message with every recipient, whatever their state; not_found.
  base::result<queued_message> get(const std::string& id);
  std::string message_path(const std::string& id) const;

  // Messages with recipients due at `now`, each with only its due recipients
  // of one domain (one relay transaction each), oldest first, at most `limit`.
  base::result<std::vector<queued_message>> due(int64_t now, size_t limit);
  // Records one recipient's outcome.
  base::status record(int64_t recipient_id, const std::string& state, const std::string& reply,
                      int64_t next_attempt);
  base::status set_warned(const std::string& id);
  // Makes queued recipients due now (one message, or all when id is empty);
  // returns how many. not_found for an unknown id.
  base::result<uint64_t> flush(const std::string& id);
  // Marks every queued recipient deleted; not_found for an unknown id.
  base::result<uint64_t> remove(const std::string& id);
  // Drops messages none of whose recipients is queued any more, with their
  // files; returns how many.
  base::result<uint64_t> collect_finished();
  // After a restart: removes files without rows and partial writes.
  base::result<uint64_t> recover();
  base::result<queue_stats> stats();

 private:
  queue_store(db::database db, std::string dir) : db_(std::move(db)), dir_(std::move(dir)) {}
  base::result<std::vector<queued_recipient>> recipients_locked(const std::string& id,
                                                                bool queued_only);
  std::mutex mu_;
  db::database db_;
  std::string dir_;  // data_dir/queue
};

// The domain of an address, lower-cased ("" when it has none).
std::string domain_of(std::string_view address);

}  // namespace postern::queue
