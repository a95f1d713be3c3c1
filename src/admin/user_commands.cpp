// `postern user add|list|passwd|remove`: work on the directory directly, so
// they run before the first start and while the node is serving.
#include <fmt/format.h>

#include <cctype>
#include <iostream>
#include <optional>
#include <string>

#include "admin/commands.hpp"
#include "base/strings.hpp"
#include "directory/directory.hpp"
#include "directory/password.hpp"
#include "store/store.hpp"

namespace postern::admin {

namespace {

std::unique_ptr<directory::directory> open_dir(const node_config& cfg) {
  auto d = directory::open_sqlite_directory(cfg.data_dir, true);
  if (!d) {
    fmt::print(stderr, "postern: {}\n", d.err().message);
    return nullptr;
  }
  return std::move(*d);
}

// Reads the password from standard input and hashes it; prints why not and
// returns nullopt (with the exit code in `code`) when it cannot.
std::optional<std::string> read_password_hash(bool password_stdin, int& code) {
  code = ex_usage;
  if (!password_stdin) {
    fmt::print(stderr,
               "postern: give the password on standard input with --password-stdin "
               "(never on the command line, where other users can see it)\n");
    return std::nullopt;
  }
  std::string pw;
  std::getline(std::cin, pw);
  if (!pw.empty() && pw.back() == '\r') pw.pop_back();
  if (pw.empty()) {
    fmt::print(stderr, "postern: the password read from standard input is empty\n");
    return std::nullopt;
  }
  auto hash = directory::hash_password(pw);
  if (!hash) {
    fmt::print(stderr, "postern: {}\n", hash.err().message);
    code = ex_software;
    return std::nullopt;
  }
  return *hash;
}

}  // namespace

int user_add(const node_config& cfg, const std::string& address, bool password_stdin) {
  if (auto s = directory::validate_address(address); !s) {
    fmt::print(stderr, "postern: {}\n", s.err().message);
    return ex_dataerr;
  }
  int code;
  auto hash = read_password_hash(password_stdin, code);
  if (!hash) return code;
  auto dir = open_dir(cfg);
  if (!dir) return ex_config;
  auto u = dir->add_user(address, *hash);
  if (!u) {
    fmt::print(stderr, "postern: {}\n", u.err().message);
    return u.err().code == base::errc::already_exists ? ex_dataerr : ex_ioerr;
  }
  fmt::print("added {} (user id {})\n", u->address, u->id);
  return ex_ok;
}

int user_list(const node_config& cfg) {
  auto dir = open_dir(cfg);
  if (!dir) return ex_config;
  auto users = dir->list_users();
  if (!users) {
    fmt::print(stderr, "postern: {}\n", users.err().message);
    return ex_ioerr;
  }
  for (auto& u : *users) fmt::print("{}\n", u.address);
  return ex_ok;
}

int user_passwd(const node_config& cfg, const std::string& address, bool password_stdin) {
  int code;
  auto hash = read_password_hash(password_stdin, code);
  if (!hash) return code;
  auto dir = open_dir(cfg);
  if (!dir) return ex_config;
  if (auto s = dir->set_password(address, *hash); !s) {
    fmt::print(stderr, "postern: {}\n", s.err().message);
    return s.err().code == base::errc::not_found ? ex_nouser : ex_ioerr;
  }
  fmt::print("password changed for {}\n", address);
  return ex_ok;
}

int user_remove(const node_config& cfg, const std::string& address) {
  auto dir = open_dir(cfg);
  if (!dir) return ex_config;
  auto u = dir->remove_user(address);
  if (!u) {
    fmt::print(stderr, "postern: {}\n", u.err().message);
    return u.err().code == base::errc::not_found ? ex_nouser : ex_ioerr;
  }
  auto mail = store::make_sqlite_store(cfg.data_dir);
  if (auto s = mail->destroy(u->id); !s) {
    fmt::print(stderr, "postern: removed {} from the directory, but {}\n", u->address,
               s.err().message);
    return ex_ioerr;
  }
  fmt::print("removed {} and their mailbox\n", u->address);
  return ex_ok;
}

namespace {
// "2G", "500M", "100K", "1048576": bytes; nullopt when malformed.
std::optional<uint64_t> parse_size(const std::string& text) {
  if (text.empty()) return std::nullopt;
  uint64_t unit = 1;
  std::string digits = text;
  switch (std::toupper(static_cast<unsigned char>(text.back()))) {
    case 'K':
      unit = 1024;
      break;
    case 'M':
      unit = 1024 * 1024;
      break;
    case 'G':
      unit = uint64_t{1024} * 1024 * 1024;
      break;
    case 'T':
      unit = uint64_t{1024} * 1024 * 1024 * 1024;
      break;
    default:
      break;
  }
  if (unit != 1) digits.pop_back();
  auto n = base::parse_u64(digits);
  if (!n || *n > UINT64_MAX / unit) return std::nullopt;
  return *n * unit;
}
}  // namespace

int user_set(const node_config& cfg, const std::string& address,
             const std::optional<std::string>& quota_storage,
             const std::optional<std::string>& quota_messages) {
  auto dir = open_dir(cfg);
  if (!dir) return ex_config;
  auto u = dir->find_user(address);
  if (!u) {
    fmt::print(stderr, "postern: {}\n", u.err().message);
    return u.err().code == base::errc::not_found ? ex_nouser : ex_ioerr;
  }
  uint64_t storage = u->quota_storage, messages = u->quota_messages;
  if (quota_storage) {
    auto v = parse_size(*quota_storage);
    if (!v) {
      fmt::print(stderr,
                 "postern: --quota-storage {}: expected bytes or a size like 500K, 200M, 2G (0 "
                 "for no limit)\n",
                 *quota_storage);
      return ex_usage;
    }
    storage = *v;
  }
  if (quota_messages) {
    auto v = base::parse_u64(*quota_messages);
    if (!v) {
      fmt::print(stderr, "postern: --quota-messages {}: expected a whole number (0 for no limit)\n",
                 *quota_messages);
      return ex_usage;
    }
    messages = *v;
  }
  if (auto s = dir->set_quota(address, storage, messages); !s) {
    fmt::print(stderr, "postern: {}\n", s.err().message);
    return ex_ioerr;
  }
  auto show = [](uint64_t v, const char* unit) {
    return v ? fmt::format("{} {}", v, unit) : std::string("no limit");
  };
  fmt::print("{}: quota storage {}, messages {}\n", u->address, show(storage, "bytes"),
             show(messages, "messages"));
  return ex_ok;
}

}  // namespace postern::admin
