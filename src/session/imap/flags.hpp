// Flags as the client names them and as the store keeps them.
#pragma once

#include <string>
#include <vector>

namespace postern::session::imap {

struct split_flags {
  uint32_t system = 0;
  std::vector<std::string> keywords;
};

// "\\Seen" etc. to bits, keywords kept (names as proto/imap/store_args gives them).
split_flags split_flag_names(const std::vector<std::string>& names);

}  // namespace postern::session::imap
