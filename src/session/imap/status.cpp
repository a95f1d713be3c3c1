#include "session/imap/status.hpp"

#include <fmt/format.h>

#include "net/blocking.hpp"
#include "proto/imap/response.hpp"

namespace postern::session::imap {

std::string mailbox_id(const store::folder_view& v) {
  // UIDVALIDITY is unique per mailbox forever and stays with a folder when it
  // is renamed, as RFC 8474 §4.1 asks of MAILBOXID.
  return fmt::format("M{:08x}", v.uidvalidity);
}

std::string email_id(const store::message_meta& m) {
  // Copies share their blob, so a copy keeps its EMAILID (RFC 8474 §5.1).
  return fmt::format("E{:016x}", m.blob_id);
}

net::awaitable<base::result<std::shared_ptr<store::folder_view>>> folder_view_of(
    session& s, const std::string& name) {
  if (auto resident = s.mailbox->resident_view(name))
    co_return base::result<std::shared_ptr<store::folder_view>>(std::move(*resident));
  auto mb = s.mailbox;
  auto load = [mb, name] { return mb->view(name); };
  co_return co_await net::run_reading(std::move(load));
}

net::awaitable<base::result<std::string>> status_line(session& s, const std::string& name,
                                                      const std::vector<std::string>& items) {
  auto view = co_await folder_view_of(s, name);
  if (!view) co_return base::error{view.err().code, error_reply(s, view.err()), ""};
  auto& v = **view;
  auto lock = v.reader();
  std::string body;
  auto add = [&](std::string_view item, uint64_t n) {
    if (!body.empty()) body += ' ';
    body += fmt::format("{} {}", item, n);
  };
  for (auto& item : items) {
    if (item == "MESSAGES") {
      add(item, v.messages.size());
    } else if (item == "UIDNEXT") {
      add(item, v.uidnext);
    } else if (item == "UIDVALIDITY") {
      add(item, v.uidvalidity);
    } else if (item == "UNSEEN" || item == "DELETED" || item == "SIZE") {
      uint64_t n = 0;
      for (auto& m : v.messages) {
        if (item == "UNSEEN") n += !(m.flags & store::flag_seen);
        if (item == "DELETED") n += (m.flags & store::flag_deleted) != 0;
        if (item == "SIZE") n += m.size;
      }
      add(item, n);
    } else if (item == "RECENT") {
      // Messages no session has claimed as \Recent yet (RFC 3501 §6.3.10).
      uint64_t n = 0;
      uint32_t from = v.recent_uid.load();
      for (auto& m : v.messages) n += m.uid >= from;
      add(item, n);
    } else if (item == "HIGHESTMODSEQ") {
      add(item, v.highestmodseq);
      s.condstore = true;  // RFC 7162 §3.1: a CONDSTORE-enabling command
    } else if (item == "APPENDLIMIT") {
      add(item, s.settings->max_message_size);
    } else if (item == "MAILBOXID") {
      if (!body.empty()) body += ' ';
      body += fmt::format("MAILBOXID ({})", mailbox_id(v));
    } else {
      co_return base::error{base::errc::invalid_argument,
                            fmt::format("[CLIENTBUG] Unknown STATUS item {}", item), ""};
    }
  }
  std::string line = "STATUS ";
  proto::imap::append_string(line, s.wire_name(name), s.utf8_accept);
  line += " (" + body + ")";
  co_return line;
}

}  // namespace postern::session::imap
