#include "session/core/error_words.hpp"

namespace postern::session::core {

std::string client_words(const base::error& e) {
  switch (e.code) {
    case base::errc::io_error:
      return "the mailbox store failed to read or write";
    case base::errc::temporary:
      return "the mailbox store is busy; try again shortly";
    case base::errc::corrupt:
      return "the mailbox index failed a consistency check; the administrator can run "
             "postern mailbox repair";
    case base::errc::disk_full:
      return "the server has no space left for mail";
    case base::errc::unavailable:
      return "the service is temporarily unavailable";
    default:
      // Composed by Postern for the client: no paths, no library text.
      return e.message;
  }
}

}  // namespace postern::session::core
