#include "session/smtp/spool_copy.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace postern::session::smtp {

namespace {
base::error copy_error(const std::string& path, int err) {
  return base::error{err == ENOSPC || err == EDQUOT ? base::errc::disk_full : base::errc::io_error,
                     fmt::format("cannot copy the message into {}: {}", path, std::strerror(err)),
                     std::strerror(err)};
}
}  // namespace

base::result<store::spool_file> copy_spool(store::store& mail, const store::spool_file& from,
                                           uint64_t begin, uint64_t end, std::string_view prefix) {
  auto copy = mail.create_spool();
  if (!copy) return copy.err();
  auto& f = *copy;
  while (!prefix.empty()) {
    auto n = ::write(f.fd, prefix.data(), prefix.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return copy_error(f.path, errno);
    prefix.remove_prefix(static_cast<size_t>(n));
  }
  off_t in = static_cast<off_t>(begin);
  uint64_t left = end - begin;
  while (left > 0) {
    auto n = ::copy_file_range(from.fd, &in, f.fd, nullptr, left, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return copy_error(f.path, n < 0 ? errno : EIO);
    left -= static_cast<uint64_t>(n);
  }
  return std::move(*copy);
}

}  // namespace postern::session::smtp
