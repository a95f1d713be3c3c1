#include "admin/admin_token.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace postern::admin {

std::string admin_token_path(const std::string& data_dir) { return data_dir + "/admin.token"; }

base::result<std::string> read_admin_token(const std::string& data_dir) {
  auto path = admin_token_path(data_dir);
  std::ifstream in(path);
  if (!in) {
    auto code = errno == ENOENT ? base::errc::not_found : base::errc::io_error;
    return base::error{
        code, fmt::format("cannot read the admin token {}: {}", path, std::strerror(errno)), ""};
  }
  std::string token;
  std::getline(in, token);
  if (token.size() < 32)
    return base::error{base::errc::corrupt,
                       fmt::format("the admin token {} is shorter than 32 characters; remove it "
                                   "and restart the node to make a new one",
                                   path),
                       ""};
  return token;
}

base::result<std::string> ensure_admin_token(const std::string& data_dir) {
  auto existing = read_admin_token(data_dir);
  if (existing || existing.err().code != base::errc::not_found) return existing;
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1)
    return base::error{base::errc::io_error, "OpenSSL could not provide random bytes", ""};
  std::string token;
  for (auto b : raw) token += fmt::format("{:02x}", b);
  auto path = admin_token_path(data_dir);
  // O_EXCL: two nodes started at once on one folder never overwrite each other.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return read_admin_token(data_dir);
    return base::error{
        base::errc::io_error,
        fmt::format("cannot create the admin token {}: {}", path, std::strerror(errno)), ""};
  }
  auto line = token + "\n";
  bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                 ::fsync(fd) == 0;
  int saved = errno;
  ::close(fd);
  if (!written) {
    ::unlink(path.c_str());
    return base::error{
        base::errc::io_error,
        fmt::format("cannot write the admin token {}: {}", path, std::strerror(saved)), ""};
  }
  return token;
}

bool token_matches(std::string_view expected, std::string_view given) {
  if (expected.size() != given.size() || expected.empty()) return false;
  return CRYPTO_memcmp(expected.data(), given.data(), expected.size()) == 0;
}

}  // namespace postern::admin
