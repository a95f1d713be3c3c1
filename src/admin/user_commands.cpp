// `postern user add|list|passwd|remove|set`: the directory's users. They work
// through a running node's admin API, and before the first start on the data
// folder directly.
#include <fmt/format.h>

#include <cctype>
#include <optional>
#include <string>

#include "admin/command_registry.hpp"
#include "base/strings.hpp"
#include "directory/directory.hpp"
#include "directory/password.hpp"
#include "store/store.hpp"

namespace postern::admin {

namespace {

arg_spec address_arg() {
  arg_spec a;
  a.name = "address";
  a.help = "mail address";
  a.positional = true;
  a.required = true;
  return a;
}

arg_spec password_arg() {
  arg_spec a;
  a.name = "password";
  a.help = "the password (the CLI reads it from standard input with --password-stdin)";
  a.required = true;
  a.secret = true;
  return a;
}

base::result<std::string> hashed(const arguments& a) {
  auto pw = value_of(a, "password");
  if (pw.empty()) return base::error{base::errc::invalid_argument, "the password is empty", ""};
  return directory::hash_password(pw);
}

command_reply user_add(command_context& c, const arguments& a) {
  auto address = value_of(a, "address");
  if (auto s = directory::validate_address(address); !s) return failure(400, s.err().message);
  auto hash = hashed(a);
  if (!hash) return failure(hash.err());
  auto u = c.dir.add_user(address, *hash);
  if (!u) return failure(u.err());
  command_reply r;
  r.lines.push_back(fmt::format("added {} (user id {})", u->address, u->id));
  if (value_of(a, "role", "user") != "user") {
    if (auto s = c.dir.set_role(u->address, value_of(a, "role")); !s) return failure(s.err());
    r.lines.push_back(
        fmt::format("{} has the admin role: POP3 and IMAP logins stay off until "
                    "switched on (postern user set {} --imap on)",
                    u->address, u->address));
  }
  return r;
}

command_reply user_list(command_context& c, const arguments&) {
  auto users = c.dir.list_users();
  if (!users) return failure(users.err());
  command_reply r;
  for (auto& u : *users) r.lines.push_back(u.address);
  return r;
}

command_reply user_passwd(command_context& c, const arguments& a) {
  auto address = value_of(a, "address");
  auto hash = hashed(a);
  if (!hash) return failure(hash.err());
  if (auto s = c.dir.set_password(address, *hash); !s) return failure(s.err());
  command_reply r;
  r.lines.push_back(fmt::format("password changed for {}", address));
  return r;
}

command_reply user_remove(command_context& c, const arguments& a) {
  auto u = c.dir.remove_user(value_of(a, "address"));
  if (!u) return failure(u.err());
  if (auto s = c.mail.destroy(u->id); !s)
    return failure(
        500, fmt::format("removed {} from the directory, but {}", u->address, s.err().message));
  command_reply r;
  r.lines.push_back(fmt::format("removed {} and their mailbox", u->address));
  return r;
}

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

command_reply user_set(command_context& c, const arguments& a) {
  auto address = value_of(a, "address");
  auto u = c.dir.find_user(address);
  if (!u) return failure(u.err());
  // Every value is checked before anything changes.
  uint64_t storage = u->quota_storage, messages = u->quota_messages;
  if (has(a, "quota_storage")) {
    auto text = value_of(a, "quota_storage");
    auto v = parse_size(text);
    if (!v)
      return failure(400, fmt::format("--quota-storage {}: expected bytes or a size like 500K, "
                                      "200M, 2G (0 for no limit)",
                                      base::printable(text, 60)));
    storage = *v;
  }
  if (has(a, "quota_messages")) {
    auto text = value_of(a, "quota_messages");
    auto v = base::parse_u64(text);
    if (!v)
      return failure(400, fmt::format("--quota-messages {}: expected a whole number (0 for no "
                                      "limit)",
                                      base::printable(text, 60)));
    messages = *v;
  }
  if (storage != u->quota_storage || messages != u->quota_messages)
    if (auto s = c.dir.set_quota(address, storage, messages); !s) return failure(s.err());
  if (has(a, "role"))
    if (auto s = c.dir.set_role(address, value_of(a, "role")); !s) return failure(s.err());
  for (auto p : directory::mailbox_protocols)
    if (has(a, p))
      if (auto s = c.dir.set_protocol_enabled(address, p, value_of(a, p) == "on"); !s)
        return failure(s.err());
  auto show = [](uint64_t v, const char* unit) {
    return v ? fmt::format("{} {}", v, unit) : std::string("no limit");
  };
  auto now = c.dir.find_user(address);
  if (!now) return failure(now.err());
  std::string logins;
  for (auto p : directory::mailbox_protocols)
    logins += fmt::format(", {} {}", p, now->allows(p) ? "on" : "off");
  command_reply r;
  r.lines.push_back(fmt::format("{}: quota storage {}, messages {}{}, role {}", now->address,
                                show(now->quota_storage, "bytes"),
                                show(now->quota_messages, "messages"), logins, now->role));
  return r;
}

}  // namespace

std::vector<command_spec> user_commands() {
  std::vector<command_spec> out;
  arg_spec role;
  role.name = "role";
  role.help =
      "user (default) or admin: an admin mailbox logs in over POP3 or IMAP only once "
      "that protocol is switched on for it";
  role.choices = {"user", "admin"};
  out.push_back({"user add", "add a user", {address_arg(), password_arg(), role}, false, user_add});
  out.push_back({"user list", "list users", {}, false, user_list});
  out.push_back({"user passwd",
                 "change a user's password",
                 {address_arg(), password_arg()},
                 false,
                 user_passwd});
  out.push_back(
      {"user remove", "remove a user and their mailbox", {address_arg()}, false, user_remove});
  command_spec set{"user set",
                   "change a user's limits (IMAP QUOTA, RFC 9208) and the protocols their "
                   "mailbox may log in with (Set-CASMailbox)",
                   {address_arg()},
                   false,
                   user_set};
  arg_spec storage;
  storage.name = "quota_storage";
  storage.help = "largest mailbox size: bytes or 500K, 200M, 2G; 0 for no limit";
  set.args.push_back(storage);
  arg_spec count;
  count.name = "quota_messages";
  count.help = "most messages; 0 for no limit";
  set.args.push_back(count);
  set.args.push_back(role);
  for (auto p : directory::mailbox_protocols) {
    arg_spec on;
    on.name = std::string(p);
    on.help = fmt::format("on|off: may this mailbox log in over {}", base::to_upper(p));
    on.choices = {"on", "off"};
    set.args.push_back(on);
  }
  out.push_back(std::move(set));
  return out;
}

}  // namespace postern::admin
