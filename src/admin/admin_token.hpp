// The admin API's bearer token: `serve` creates data_dir/admin.token (mode
// 0600, 32 random bytes as hex) on its first start; the CLI reads it there,
// so whoever may read the node's data folder may manage the node.
#pragma once

#include <string>
#include <string_view>

#include "base/error.hpp"

namespace postern::admin {

std::string admin_token_path(const std::string& data_dir);
// Reads the token, creating it first when there is none. The error names the
// file and the system's reason.
base::result<std::string> ensure_admin_token(const std::string& data_dir);
// Reads an existing token (the CLI); not_found when the node never started.
base::result<std::string> read_admin_token(const std::string& data_dir);
// Compares in constant time, so the answer's timing tells nothing of the token.
bool token_matches(std::string_view expected, std::string_view given);

}  // namespace postern::admin
