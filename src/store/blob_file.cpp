#include "store/blob_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace postern::store {

namespace {
base::error io_error(std::string what, const std::string& path, int err) {
  auto kind = (err == ENOSPC || err == EDQUOT) ? base::errc::disk_full
              : err == EIO                     ? base::errc::temporary
                                               : base::errc::io_error;
  return base::error{kind, fmt::format("{} {}: {}", what, path, std::strerror(err)),
                     std::strerror(err)};
}
}  // namespace

std::string blob_name(uint64_t id) { return fmt::format("{:016x}", id); }

namespace {
// Ids increase within a process; processes collide only on the same
// nanosecond, which O_EXCL detects.
uint64_t next_blob_id() {
  static std::atomic<uint64_t> last{0};
  auto now = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
  uint64_t prev = last.load();
  uint64_t next;
  do {
    next = std::max(now, prev + 1);
  } while (!last.compare_exchange_weak(prev, next));
  return next;
}

// Writes every byte (retrying short writes and EINTR); 0, or the errno.
int write_all(int fd, std::string_view bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    done += static_cast<size_t>(n);
  }
  return 0;
}
}  // namespace

base::result<uint64_t> create_blob(int dir_fd, const std::string& dir, std::string_view bytes) {
  uint64_t id = 0;
  std::string name;
  int fd = -1;
  for (int attempt = 0; fd < 0; ++attempt) {
    id = next_blob_id();
    name = blob_name(id);
    fd = ::openat(dir_fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && (errno != EEXIST || attempt > 100))
      return io_error("cannot create message file", dir + "/" + name, errno);
  }
  if (int err = write_all(fd, bytes); err != 0) {
    ::close(fd);
    ::unlinkat(dir_fd, name.c_str(), 0);
    return io_error("cannot write message file", dir + "/" + name, err);
  }
  if (::fdatasync(fd) != 0) {
    int err = errno;
    ::close(fd);
    ::unlinkat(dir_fd, name.c_str(), 0);
    return io_error("cannot sync message file", dir + "/" + name, err);
  }
  ::close(fd);
  return id;
}

base::result<uint64_t> link_blob(int dir_fd, const std::string& dir, int source_fd,
                                 const std::string& source, const std::string& shown_as) {
  if (::fdatasync(source_fd) != 0) return io_error("cannot sync spool file", shown_as, errno);
  for (int attempt = 0;; ++attempt) {
    uint64_t id = next_blob_id();
    auto name = blob_name(id);
    // AT_SYMLINK_FOLLOW: /proc/self/fd/N links the file it stands for (open(2)
    // on O_TMPFILE); a spool path is never a symbolic link.
    if (::linkat(AT_FDCWD, source.c_str(), dir_fd, name.c_str(), AT_SYMLINK_FOLLOW) == 0) return id;
    if (errno == EEXIST && attempt < 100) continue;
    if (errno != EXDEV) return io_error("cannot link message file", dir + "/" + name, errno);
    // Another file system: copy in the kernel, then sync the copy.
    int out = ::openat(dir_fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) return io_error("cannot create message file", dir + "/" + name, errno);
    off_t in_off = 0;
    for (;;) {
      auto n = ::copy_file_range(source_fd, &in_off, out, nullptr, 1 << 30, 0);
      if (n == 0) break;
      if (n < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(out);
        ::unlinkat(dir_fd, name.c_str(), 0);
        return io_error("cannot copy message file", dir + "/" + name, err);
      }
    }
    if (::fdatasync(out) != 0) {
      int err = errno;
      ::close(out);
      ::unlinkat(dir_fd, name.c_str(), 0);
      return io_error("cannot sync message file", dir + "/" + name, err);
    }
    ::close(out);
    return id;
  }
}

base::result<int> memory_file(std::string_view bytes, const std::string& shown_as) {
  int fd = ::memfd_create("postern-message", MFD_CLOEXEC);
  if (fd < 0) return io_error("cannot create a memory file for", shown_as, errno);
  if (int err = write_all(fd, bytes); err != 0) {
    ::close(fd);
    return io_error("cannot fill the memory file for", shown_as, err);
  }
  return fd;
}

base::status sync_directory(int dir_fd, const std::string& dir) {
  if (::fsync(dir_fd) != 0) return io_error("cannot sync folder", dir, errno);
  return base::ok_status();
}

}  // namespace postern::store
