#include "session/smtp/quota.hpp"

#include <fmt/format.h>

namespace postern::session::smtp {

base::status check_quota(directory::directory& dir, store::mailbox& mb, std::string_view address,
                         uint64_t incoming) {
  auto u = dir.find_user(address);
  if (!u || (!u->quota_storage && !u->quota_messages)) return base::ok_status();
  auto used = mb.total_usage();
  if (!used) return used.err();
  if ((u->quota_storage && used->bytes + incoming > u->quota_storage) ||
      (u->quota_messages && used->messages + 1 > u->quota_messages))
    return base::error{
        base::errc::over_quota,
        fmt::format("{}'s mailbox is full: {} of {} bytes, {} of {} messages "
                    "(quota set by postern user set)",
                    u->address, used->bytes, u->quota_storage, used->messages, u->quota_messages),
        ""};
  return base::ok_status();
}

}  // namespace postern::session::smtp
