// File-system helpers shared by the store and the directory.
#pragma once

#include <string>

#include "base/error.hpp"

namespace postern::base {

// mkdir -p with mode 0700, fsyncing each parent that gained an entry so the
// new folders survive a crash.
base::status make_directories(const std::string& path);

}  // namespace postern::base
