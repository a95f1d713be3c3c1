#include "admin/data_owner.hpp"

#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace postern::admin {

namespace {
std::string user_name(uid_t uid) {
  passwd pw{}, *found = nullptr;
  char buf[4096];
  if (::getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found) return found->pw_name;
  return fmt::format("uid {}", uid);
}
}  // namespace

base::status act_as_data_owner(const std::string& data_dir) {
  if (::geteuid() != 0) return base::ok_status();
  struct stat st {};
  if (::stat(data_dir.c_str(), &st) != 0 || st.st_uid == 0) return base::ok_status();
  auto fail = [&](const char* step) {
    return base::error{base::errc::no_permission,
                       fmt::format("cannot act as {}, the owner of data_dir {}: {}: {}",
                                   user_name(st.st_uid), data_dir, step, std::strerror(errno)),
                       ""};
  };
  // The owner's own groups (it may read a key through ssl-cert); none of root's.
  passwd pw{}, *found = nullptr;
  char buf[4096];
  if (::getpwuid_r(st.st_uid, &pw, buf, sizeof buf, &found) == 0 && found) {
    if (::initgroups(found->pw_name, st.st_gid) != 0) return fail("initgroups");
  } else if (::setgroups(0, nullptr) != 0) {
    return fail("setgroups");
  }
  if (::setgid(st.st_gid) != 0) return fail("setgid");
  if (::setuid(st.st_uid) != 0) return fail("setuid");
  return base::ok_status();
}

std::string foreign_owner(const std::string& data_dir) {
  struct stat st {};
  if (::stat(data_dir.c_str(), &st) != 0 || st.st_uid == ::geteuid()) return {};
  return user_name(st.st_uid);
}

}  // namespace postern::admin
