// Immutable message files. A blob is written, fdatasync'd and closed before
// the index row that names it commits; the folder holding it is fsync'd by
// the committer so the new name survives a crash too.
//
// A small message the store receives in memory (an IMAP APPEND) is kept in
// the index instead (table inline_blobs), written in the transaction that
// adds its row: one WAL sync stores it, where a file costs a create, two
// syncs and, at expunge, an unlink. Its id has kept_inline_bit set (store.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.hpp"

namespace postern::store {

// Blobs are named by a 64-bit id (16 hex digits), so an index row and a
// session's maildrop hold a number, not a string.
std::string blob_name(uint64_t id);

// The largest message kept inline (beyond it SQLite's overflow chains cost
// more to read than a file, and the WAL's second copy more to write).
inline constexpr uint64_t max_inline_blob = 128 * 1024;

// An anonymous file (memfd) holding `bytes`, so a reader of an inline blob
// gets a descriptor as for a file blob: pread, mmap and sendfile all work.
// `shown_as` names the message in errors.
base::result<int> memory_file(std::string_view bytes, const std::string& shown_as);

// Creates a new blob with an id unique in `dir` (taken from the clock, retried
// on collision with another process), writes `bytes` and fdatasyncs them (the
// data, not the folder entry). Returns the id.
base::result<uint64_t> create_blob(int dir_fd, const std::string& dir, std::string_view bytes);

// Makes the complete file at `source` (a path, or /proc/self/fd/N of an
// unnamed O_TMPFILE file) a new blob: fdatasyncs `source_fd`, then hard-links
// it under a fresh id (copying when `dir` is on another file system). Errors
// name the file as `shown_as`. Returns the id.
base::result<uint64_t> link_blob(int dir_fd, const std::string& dir, int source_fd,
                                 const std::string& source, const std::string& shown_as);

// fsync of a directory, so that names created in it are durable.
base::status sync_directory(int dir_fd, const std::string& dir);

}  // namespace postern::store
