#include "session/smtp/reply_codes.hpp"

namespace postern::session::smtp {

const char* reply_code_of(base::errc e) {
  switch (e) {
    case base::errc::not_found:
      return "550 5.1.1";  // the mailbox does not exist (any more)
    case base::errc::disk_full:
      return "452 4.3.1";  // mail system full
    case base::errc::over_quota:
      return "552 5.2.2";  // mailbox full
    case base::errc::too_big:
      return "552 5.3.4";
    case base::errc::limit_exceeded:
      return "452 4.2.2";  // e.g. every UID used: the mailbox cannot take more now
    case base::errc::no_permission:
      return "550 5.7.1";
    case base::errc::corrupt:
      return "451 4.3.0";
    case base::errc::in_use:
    case base::errc::temporary:
      return "451 4.2.0";
    default:
      return "451 4.3.0";
  }
}

}  // namespace postern::session::smtp
