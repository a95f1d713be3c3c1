// What submission does to a message's header (RFC 6409 §8): Bcc fields are
// removed, Date and Message-ID are added when missing, a Sender field when
// the user sends on behalf of someone; and the From addresses are read for
// the Send-As check. Pure functions over the header's bytes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace postern::session::submission {

struct header_facts {
  std::vector<std::string> from;  // the addr-specs of every From field
  bool date = false, message_id = false, sender = false;
};

// `fields`: the header's field lines in CRLF form, without the blank line.
header_facts read_header(std::string_view fields);

// The fields again: without Bcc (RFC 5322 §3.6.3), with `added` (complete
// field lines, CRLF-terminated) at the end.
std::string rewrite_header(std::string_view fields, std::string_view added);

// The addr-specs of an address list ("Ann <ann@example.com>, bob@example.com
// (Bob)", groups included), without display names and comments.
std::vector<std::string> mailbox_addresses(std::string_view value);

}  // namespace postern::session::submission
