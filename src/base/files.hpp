// File-system helpers shared by the store and the directory.
#pragma once

#include <string>

#include "base/error.hpp"

namespace postern::base {

// mkdir -p with mode 0700, fsyncing each parent that gained an entry so the
// new folders survive a crash.
base::status make_directories(const std::string& path);

// Whether a write reaches the disk at `path`: creates it, writes a line,
// fdatasyncs and removes it. Empty when it did; else what failed, with the
// path and the system's reason (readiness and health probes).
std::string synced_write_problem(const std::string& path);

}  // namespace postern::base
