// SMTP/LMTP command lines (RFC 5321 §4.1, RFC 2033): pure parsing, no I/O.
// One grammar serves LMTP delivery and, later, submission.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace postern::proto::smtp {

struct command {
  std::string verb;  // upper-case
  std::string args;  // after the first space, verbatim
};

std::optional<command> parse_command(std::string_view line);

struct path_argument {
  // The mailbox without angle brackets and without a source route, as sent
  // (no case folding); "" for the null reverse-path <>; "Postmaster" as typed
  // for RCPT TO:<Postmaster> (RFC 5321 §4.1.1.3), the one address with no
  // domain.
  std::string address;
  // Keyword upper-cased, value as sent ("" when there was no '='). Keywords
  // are checked for form only; which ones are supported is the caller's call.
  std::vector<std::pair<std::string, std::string>> params;
  // The mailbox holds UTF-8 (RFC 6531 §3.3): only valid with SMTPUTF8.
  bool utf8 = false;
};

// What kind of wrong, so that the caller can pick the reply code.
enum class path_fault {
  syntax,     // no prefix, no angle brackets, text after '>' that is not
              // parameters: 501 5.5.4
  address,    // the mailbox itself is malformed or too long: 501 5.1.7 (MAIL),
              // 501 5.1.3 (RCPT)
  parameter,  // an esmtp-param with a bad keyword or value: 501 5.5.4
};

struct path_failure {
  path_fault fault;
  // Words for the reply text, such as "the address <a@@b> is not a valid
  // mailbox: the domain part is empty". Client bytes in it are escaped with
  // base::printable and cut, so it is safe to send and to log.
  std::string message;
};

// Parses the arguments of MAIL or RCPT: "FROM:<a@b> SIZE=10" with prefix
// "FROM:", or "TO:<a@b>" with prefix "TO:"; the prefix matches without case
// and may be followed by spaces. The path is checked strictly against RFC 5321
// §4.1.2 with the UTF-8 extensions of RFC 6531 §3.3 and the limits of §4.5.3.1;
// a source route "@a,@b:" is checked and dropped. allow_null: accept the null
// reverse-path "<>" (MAIL FROM only). Never throws; any input is safe.
std::variant<path_argument, path_failure> parse_path(std::string_view args, std::string_view prefix,
                                                     bool allow_null);

}  // namespace postern::proto::smtp
