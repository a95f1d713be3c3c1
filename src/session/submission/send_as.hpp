// Send-As (seed 002's "5.7.1 The client does not have permission to send as
// this sender"): whether an authenticated user may use an address as the
// envelope sender or in From: their own, an alias of theirs (`postern user
// alias add`), or one they were granted (`postern user grant ADDRESS
// --send-as OTHER`, or `--send-on-behalf OTHER`, which adds a Sender field).
// A refusal names both addresses and the missing grant.
#pragma once

#include <string>
#include <string_view>

#include "directory/directory.hpp"

namespace postern::session::submission {

struct send_as_verdict {
  bool allowed = false;
  bool on_behalf = false;  // allowed with a Sender field naming the user
  bool temporary = false;  // the directory could not answer: try again later
  std::string words;       // why not, for the reply and the log
};

send_as_verdict may_send_as(directory::directory& dir, std::string_view user,
                            std::string_view sender);

}  // namespace postern::session::submission
