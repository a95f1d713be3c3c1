#include "base/files.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace postern::base {

base::status make_directories(const std::string& path) {
  std::string partial;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    partial = path.substr(0, pos);
    if (partial.empty()) continue;
    if (::mkdir(partial.c_str(), 0700) == 0) {
      auto parent = partial.substr(0, partial.rfind('/'));
      if (parent.empty()) parent = "/";
      int fd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
      }
    } else if (errno != EEXIST) {
      return base::error{base::errc::io_error,
                         fmt::format("cannot create folder {}: {}", partial, std::strerror(errno)),
                         ""};
    }
  }
  return base::ok_status();
}

std::string synced_write_problem(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fmt::format("cannot create {}: {}", path, std::strerror(errno));
  bool ok = ::write(fd, "probe\n", 6) == 6 && ::fdatasync(fd) == 0;
  int saved = errno;
  ::close(fd);
  ::unlink(path.c_str());
  if (!ok) return fmt::format("cannot write {}: {}", path, std::strerror(saved));
  return {};
}

}  // namespace postern::base
