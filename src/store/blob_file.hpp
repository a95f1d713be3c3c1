// Immutable message files. A blob is written, fdatasync'd and closed before
// the index row that names it commits; the folder holding it is fsync'd by
// the committer so the new name survives a crash too.
#pragma once

#include <string>
#include <string_view>

#include "base/error.hpp"

namespace postern::store {

// A name unique across processes and restarts: time, pid and a counter.
std::string new_blob_name();

// Creates dir/name exclusively and writes bytes durably (data, not the dirent).
base::status write_blob(int dir_fd, const std::string& dir, const std::string& name,
                        std::string_view bytes);

// fsync of a directory, so that names created in it are durable.
base::status sync_directory(int dir_fd, const std::string& dir);

}  // namespace postern::store
