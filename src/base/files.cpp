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

}  // namespace postern::base
