#include "store/blob_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace postern::store {

namespace {
base::error io_error(std::string what, const std::string& path, int err) {
  auto kind =
      (err == ENOSPC || err == EDQUOT || err == EIO) ? base::errc::temporary : base::errc::io_error;
  return base::error{kind, fmt::format("{} {}: {}", what, path, std::strerror(err)),
                     std::strerror(err)};
}
}  // namespace

std::string new_blob_name() {
  static std::atomic<uint64_t> counter{0};
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return fmt::format("{:x}.{:x}.{:x}", ns, ::getpid(), counter.fetch_add(1));
}

base::status write_blob(int dir_fd, const std::string& dir, const std::string& name,
                        std::string_view bytes) {
  int fd = ::openat(dir_fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot create message file", dir + "/" + name, errno);
  size_t done = 0;
  while (done < bytes.size()) {
    auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlinkat(dir_fd, name.c_str(), 0);
      return io_error("cannot write message file", dir + "/" + name, err);
    }
    done += static_cast<size_t>(n);
  }
  if (::fdatasync(fd) != 0) {
    int err = errno;
    ::close(fd);
    ::unlinkat(dir_fd, name.c_str(), 0);
    return io_error("cannot sync message file", dir + "/" + name, err);
  }
  ::close(fd);
  return base::ok_status();
}

base::status sync_directory(int dir_fd, const std::string& dir) {
  if (::fsync(dir_fd) != 0) return io_error("cannot sync folder", dir, errno);
  return base::ok_status();
}

}  // namespace postern::store
