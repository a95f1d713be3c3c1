// Root working on a data folder that belongs to the node's user (the
// package's /var/lib/postern, owned by postern): the command switches to
// that user first, so the files it creates or grows (SQLite's journals, a
// new mailbox) stay the node's, and the node never meets a file it cannot
// write.
#pragma once

#include <string>

#include "base/error.hpp"

namespace postern::admin {

// Not root, or the folder is root's or missing: nothing to do. Else becomes
// the folder's owner (user, group, and that user's groups).
base::status act_as_data_owner(const std::string& data_dir);

// The folder's owner when it is not the user running this process; empty
// otherwise. For `serve`, which refuses to run as root over another's folder.
std::string foreign_owner(const std::string& data_dir);

}  // namespace postern::admin
