// `postern folder set ADDRESS|--all FOLDER --expunge-after 30d`, `postern
// folder get [ADDRESS]` and `postern retention run`.
#include <fmt/format.h>

#include <map>

#include "admin/node_runtime.hpp"
#include "admin/retention.hpp"
#include "base/strings.hpp"
#include "directory/directory.hpp"
#include "observe/log.hpp"
#include "observe/metrics.hpp"

namespace postern::admin {

namespace {

command_reply folder_set(command_context& c, const arguments& a) {
  bool all = value_of(a, "all") == "true";
  auto it = a.find("target");
  std::vector<std::string> target = it == a.end() ? std::vector<std::string>{} : it->second;
  if (target.size() != (all ? 1u : 2u))
    return failure(400, all ? "with --all give only the folder: folder set --all Trash "
                              "--expunge-after 30d"
                            : "give the address and the folder: folder set joe@example.com "
                              "Trash --expunge-after 30d (or --all Trash)");
  auto folder = target.back();
  if (folder.empty() || folder.size() > 512 || folder.find('\0') != std::string::npos)
    return failure(400, "a folder name of 1 to 512 bytes");
  int64_t user_id = 0;
  std::string who = "every user";
  if (!all) {
    auto u = c.dir.find_user(target.front());
    if (!u) return failure(u.err());
    user_id = u->id;
    who = u->address;
  }
  auto text = value_of(a, "expunge_after");
  int64_t seconds = -1;
  if (text != "default") {
    auto parsed = parse_retention(text);
    if (!parsed)
      return failure(400, fmt::format("--expunge-after {}: expected a duration like 30d, 12h "
                                      "(at least 1s), never, or default",
                                      base::printable(text, 40)));
    seconds = *parsed;
  }
  if (all && seconds < 0)
    return failure(400, "--all takes a duration or never; default is for one user's own rule");
  if (auto s = c.dir.set_retention(user_id, folder, seconds); !s) return failure(s.err());
  observe::log(observe::level::info, "admin", "", "{}: retention of {}'s {} set to {}", c.requester,
               who, base::printable(folder, 100),
               seconds < 0 ? "the rule for every user" : format_retention(seconds));
  command_reply r;
  if (seconds < 0)
    r.lines.push_back(
        fmt::format("{}'s own rule for {} removed: the rule for every user applies", who, folder));
  else if (seconds == 0)
    r.lines.push_back(fmt::format("{}: {} keeps its messages", who, folder));
  else
    r.lines.push_back(
        fmt::format("{}: messages in {} are expunged {} after they were saved "
                    "there (checked hourly)",
                    who, folder, format_retention(seconds)));
  return r;
}

command_reply folder_get(command_context& c, const arguments& a) {
  auto rules = c.dir.retention_rules();
  if (!rules) return failure(rules.err());
  std::map<int64_t, std::string> names;
  auto users = c.dir.list_users();
  if (!users) return failure(users.err());
  for (auto& u : *users) names[u.id] = u.address;
  int64_t only = -1;
  if (has(a, "address")) {
    auto u = c.dir.find_user(value_of(a, "address"));
    if (!u) return failure(u.err());
    only = u->id;
  }
  command_reply r;
  r.columns = {"user", "folder", "expunge_after"};
  for (auto& rule : *rules) {
    if (only >= 0 && rule.user_id != only && rule.user_id != 0) continue;
    r.rows.push_back({rule.user_id == 0 ? "(every user)" : names[rule.user_id], rule.folder,
                      format_retention(rule.seconds)});
  }
  return r;
}

command_reply retention_run(command_context& c, const arguments&) {
  auto results = apply_retention(c.dir, c.mail, c.cfg.data_dir, std::chrono::system_clock::now());
  command_reply r;
  r.columns = {"user", "folder", "expunge_after", "expunged", "error"};
  size_t total = 0;
  for (auto& x : results) {
    total += x.expunged;
    r.rows.push_back({x.user, x.folder, format_retention(x.seconds), std::to_string(x.expunged),
                      x.error.empty() ? "-" : x.error});
  }
  if (c.node && c.node->svc.metrics) c.node->svc.metrics->count_retention(total);
  r.lines.push_back(fmt::format("expunged {} message(s)", total));
  return r;
}

}  // namespace

std::vector<command_spec> folder_commands() {
  arg_spec target, all, after, address;
  target.name = "target";
  target.help = "ADDRESS FOLDER, or with --all only FOLDER";
  target.what = arg_spec::kind::list;
  target.positional = true;
  target.required = true;
  all.name = "all";
  all.help = "the rule for every user (it replaces their own rules for that folder)";
  all.what = arg_spec::kind::flag;
  after.name = "expunge_after";
  after.help = "30d, 12h ...; never to keep; default to drop a user's own rule";
  after.required = true;
  address.name = "address";
  address.help = "only this user's rules (and those for every user)";
  address.positional = true;
  return {{"folder set",
           "a folder's retention: expunge messages older than this, hourly",
           {target, all, after},
           false,
           folder_set},
          {"folder get", "retention rules", {address}, false, folder_get},
          {"retention run",
           "apply the retention rules now (the node does it hourly)",
           {},
           true,
           retention_run}};
}

}  // namespace postern::admin
