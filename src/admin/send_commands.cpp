// Who may send as whom (seed 002's 5.7.1): `postern user alias add|remove|list`
// (a user's other addresses, which they may send as) and `postern user grant
// ADDRESS --send-as OTHER | --send-on-behalf OTHER | --revoke OTHER`.
#include <fmt/format.h>

#include "admin/node_runtime.hpp"
#include "directory/directory.hpp"
#include "observe/log.hpp"

namespace postern::admin {

namespace {

command_reply alias_add(command_context& c, const arguments& a) {
  auto address = value_of(a, "address"), alias = value_of(a, "alias");
  if (auto s = c.dir.add_alias(address, alias); !s) return failure(s.err());
  observe::log(observe::level::info, "admin", "", "{}: alias {} added to {}", c.requester, alias,
               address);
  command_reply r;
  r.lines.push_back(fmt::format("{} may now send as {}", address, alias));
  return r;
}

command_reply alias_remove(command_context& c, const arguments& a) {
  auto address = value_of(a, "address"), alias = value_of(a, "alias");
  if (auto s = c.dir.remove_alias(address, alias); !s) return failure(s.err());
  observe::log(observe::level::info, "admin", "", "{}: alias {} removed from {}", c.requester,
               alias, address);
  command_reply r;
  r.lines.push_back(fmt::format("{} is no longer an alias of {}", alias, address));
  return r;
}

command_reply alias_list(command_context& c, const arguments& a) {
  auto list = c.dir.aliases(value_of(a, "address"));
  if (!list) return failure(list.err());
  command_reply r;
  r.lines = std::move(*list);
  return r;
}

command_reply grant(command_context& c, const arguments& a) {
  auto address = value_of(a, "address");
  std::vector<std::pair<std::string, std::string>> given;
  for (auto [arg, kind] : {std::pair{"send_as", "send_as"},
                           std::pair{"send_on_behalf", "send_on_behalf"}, std::pair{"revoke", ""}})
    if (has(a, arg)) given.emplace_back(value_of(a, arg), kind);
  if (given.size() != 1)
    return failure(400, "give one of --send-as OTHER, --send-on-behalf OTHER or --revoke OTHER");
  auto& [other, kind] = given.front();
  if (auto s = c.dir.set_send_grant(address, other, kind); !s) return failure(s.err());
  observe::log(observe::level::info, "admin", "", "{}: {} of {} for {}", c.requester,
               kind.empty() ? "revoked the grant" : kind, address, other);
  command_reply r;
  if (kind == "send_as")
    r.lines.push_back(fmt::format("{} may now send as {}", address, other));
  else if (kind == "send_on_behalf")
    r.lines.push_back(
        fmt::format("{} may now send on behalf of {} (Postern adds a Sender field naming {})",
                    address, other, address));
  else
    r.lines.push_back(fmt::format("{} may no longer send as {}", address, other));
  return r;
}

}  // namespace

std::vector<command_spec> send_commands() {
  arg_spec address, alias, send_as, on_behalf, revoke;
  address.name = "address";
  address.help = "the user's address";
  address.positional = true;
  address.required = true;
  alias.name = "alias";
  alias.help = "another address of that user";
  alias.positional = true;
  alias.required = true;
  send_as.name = "send_as";
  send_as.help = "an address the user may send as";
  on_behalf.name = "send_on_behalf";
  on_behalf.help = "an address the user may send on behalf of (with a Sender field)";
  revoke.name = "revoke";
  revoke.help = "an address whose grant is withdrawn";
  return {{"user alias add",
           "give a user another address they may send as",
           {address, alias},
           false,
           alias_add},
          {"user alias remove", "take an alias from a user", {address, alias}, false, alias_remove},
          {"user alias list", "a user's aliases", {address}, false, alias_list},
          {"user grant",
           "let a user send as (or on behalf of) another address, or withdraw it",
           {address, send_as, on_behalf, revoke},
           false,
           grant}};
}

}  // namespace postern::admin
