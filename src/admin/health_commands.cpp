// `postern health account ADDRESS`: the account the health monitor logs in
// with (Exchange's health mailbox, seed 003). The node makes it with a random
// password only it knows, and points every protocol's health_probe_account
// at it. An existing mailbox that is not already the probe's is refused: its
// owner's password must never be replaced behind their back.
#include <fmt/format.h>
#include <openssl/rand.h>

#include "admin/health_account.hpp"
#include "admin/node_runtime.hpp"
#include "base/strings.hpp"
#include "directory/directory.hpp"
#include "directory/password.hpp"
#include "observe/log.hpp"

namespace postern::admin {

namespace {

command_reply health_account(command_context& c, const arguments& a) {
  auto address = value_of(a, "address");
  if (auto s = directory::validate_address(address); !s) return failure(400, s.err().message);
  auto known = read_probe_credentials(c.cfg.data_dir);
  auto existing = c.dir.find_user(address);
  if (existing && !(known && base::iequals(known->address, existing->address)))
    return failure(409, fmt::format("{} is an existing mailbox; the health probe needs an "
                                    "account of its own (e.g. health-probe@{})",
                                    existing->address, c.cfg.hostname));
  if (!existing && existing.err().code != base::errc::not_found) return failure(existing.err());
  unsigned char raw[24];
  if (RAND_bytes(raw, sizeof raw) != 1)
    return failure(500, "OpenSSL could not provide random bytes");
  std::string password;
  for (auto b : raw) password += fmt::format("{:02x}", b);
  auto hash = directory::hash_password(password);
  if (!hash) return failure(hash.err());
  command_reply r;
  if (existing) {
    if (auto s = c.dir.set_password(existing->address, *hash); !s) return failure(s.err());
    r.lines.push_back(fmt::format("renewed the password of the probe account {}", address));
  } else {
    auto u = c.dir.add_user(address, *hash);
    if (!u) return failure(u.err());
    address = u->address;
    r.lines.push_back(fmt::format("added the probe account {} (user id {})", address, u->id));
  }
  if (auto s = write_probe_credentials(c.cfg.data_dir, {address, password}); !s)
    return failure(s.err());
  for (auto protocol : {"pop3", "imap", "submission"}) {
    auto set = c.dir.set_setting(protocol, "health_probe_account", address);
    if (!set) return failure(set.err());
  }
  r.lines.push_back(fmt::format(
      "its password is in {} (0600); the health probes of pop3, imap and submission now log "
      "in as it (POP3 and IMAP also open its INBOX) and log out",
      health_secret_path(c.cfg.data_dir)));
  observe::log(observe::level::info, "admin", "", "{}: health probe account set to {}", c.requester,
               address);
  return r;
}

}  // namespace

std::vector<command_spec> health_commands() {
  arg_spec address;
  address.name = "address";
  address.help = "the probe's own address (created if missing)";
  address.positional = true;
  address.required = true;
  return {{"health account",
           "make the account the health probe logs in with (a random password only the node "
           "knows) and use it for pop3, imap and submission",
           {address},
           false,
           health_account}};
}

}  // namespace postern::admin
