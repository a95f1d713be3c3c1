#include "admin/health_account.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace postern::admin {

std::string health_secret_path(const std::string& data_dir) {
  return data_dir + "/health-probe.secret";
}

std::optional<probe_credentials> read_probe_credentials(const std::string& data_dir) {
  std::ifstream in(health_secret_path(data_dir));
  probe_credentials c;
  if (!in || !std::getline(in, c.address) || !std::getline(in, c.password)) return std::nullopt;
  if (c.address.empty() || c.password.empty()) return std::nullopt;
  return c;
}

base::status write_probe_credentials(const std::string& data_dir, const probe_credentials& c) {
  auto path = health_secret_path(data_dir);
  auto temp = path + ".new";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return base::error{base::errc::io_error,
                       fmt::format("cannot create {}: {}", temp, std::strerror(errno)), ""};
  auto text = c.address + "\n" + c.password + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  int saved = errno;
  ::close(fd);
  if (!ok || ::rename(temp.c_str(), path.c_str()) != 0) {
    if (ok) saved = errno;
    ::unlink(temp.c_str());
    return base::error{base::errc::io_error,
                       fmt::format("cannot write {}: {}", path, std::strerror(saved)), ""};
  }
  return base::ok_status();
}

}  // namespace postern::admin
