// The DSN extension's envelope parameters (RFC 3461 §4): RET and ENVID on
// MAIL FROM, NOTIFY and ORCPT on RCPT TO. Each take_* removes its keywords
// from the parsed path and returns "" or the reply that refuses them.
#pragma once

#include <string>

#include "proto/smtp/command.hpp"

namespace postern::session::smtp {

struct dsn_mail {
  std::string ret;    // "FULL", "HDRS" or ""
  std::string envid;  // xtext as sent
};

struct dsn_rcpt {
  std::string notify;  // "NEVER" or a comma list of SUCCESS, FAILURE, DELAY, upper case
  std::string orcpt;   // "rfc822;xtext" as sent
};

std::string take_dsn_mail_params(proto::smtp::path_argument& path, dsn_mail& out);
std::string take_dsn_rcpt_params(proto::smtp::path_argument& path, dsn_rcpt& out);

// RFC 3461 §4: printable ASCII but '+' and '=', which come as "+XX".
bool valid_xtext(std::string_view s);

}  // namespace postern::session::smtp
