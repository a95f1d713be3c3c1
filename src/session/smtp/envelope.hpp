// The SMTP envelope shared by LMTP and submission: the sender and its MAIL
// parameters, the recipients, and the replies for malformed paths and
// parameters (RFC 5321 §4.1.1.2-3, RFC 1870 SIZE, RFC 6152 BODY, RFC 3463
// enhanced codes).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "proto/smtp/command.hpp"

namespace postern::session::smtp {

struct recipient {
  std::string address;
  int64_t user_id = 0;        // 0: not a mailbox here (submission relays it)
  std::string notify, orcpt;  // RFC 3461, as sent (submission only)
};

struct envelope {
  std::optional<std::string> sender;  // set by MAIL FROM ("" for the null path)
  std::vector<recipient> recipients;
  uint64_t declared_size = 0;  // SIZE=, 0 when not given
  void reset() {
    sender.reset();
    recipients.clear();
    declared_size = 0;
  }
};

// The reply to a path the parser refused: 501 5.1.7 for a bad sender
// mailbox, 501 5.1.3 for a bad recipient, 501 5.5.4 for syntax and
// parameters (RFC 3463 §3.2, §3.6).
std::string path_failure_reply(const proto::smtp::path_failure& f, bool sender);

// Checks MAIL FROM parameters; on success fills `env` and returns "", else
// the reply (552 5.3.4 for SIZE over the limit, 555 5.5.4 for unknown ones).
std::string apply_mail_parameters(const proto::smtp::path_argument& path, uint64_t max_size,
                                  envelope& env);

}  // namespace postern::session::smtp
