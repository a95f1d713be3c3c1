// `postern pop3|imap|lmtp get [KEY]` and `set KEY=VALUE ...` (Get-PopSettings,
// Set-PopSettings): settings live in the directory, so a change reaches the
// running node's next connection without a restart (live_settings rereads
// the directory when another connection committed).
#include <fmt/format.h>

#include "admin/command_registry.hpp"
#include "admin/node_runtime.hpp"
#include "admin/protocols.hpp"
#include "base/strings.hpp"
#include "directory/directory.hpp"

namespace postern::admin {

namespace {

std::string shown(const std::string& v) { return v.empty() ? std::string("(none)") : v; }

command_reply settings_get(command_context& c, const std::string& protocol, const arguments& a) {
  auto key = value_of(a, "key");
  if (!key.empty() && !directory::find_setting(protocol, key))
    return failure(400, directory::validate_setting(protocol, key, "").err().message);
  auto stored = c.dir.settings(protocol);
  if (!stored) return failure(stored.err());
  command_reply r;
  r.columns = {"setting", "value", "default", "meaning"};
  for (auto& spec : directory::settings_for(protocol)) {
    if (!key.empty() && spec.key != key) continue;
    auto it = stored->find(spec.key);
    std::string value = it != stored->end() ? it->second : std::string(spec.default_value);
    r.rows.push_back({std::string(spec.key), shown(value), shown(std::string(spec.default_value)),
                      std::string(spec.help)});
  }
  return r;
}

command_reply settings_set(command_context& c, const std::string& protocol, const arguments& a) {
  // Every assignment is checked before any is stored, so a typo changes nothing.
  std::vector<std::pair<std::string, std::string>> parsed;
  auto it = a.find("assignments");
  for (auto& text : it == a.end() ? std::vector<std::string>{} : it->second) {
    auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0)
      return failure(400, fmt::format("'{}' is not KEY=VALUE (e.g. max_connections_per_user=32)",
                                      base::printable(text, 80)));
    auto k = text.substr(0, eq), v = text.substr(eq + 1);
    if (auto ok = directory::validate_setting(protocol, k, v); !ok)
      return failure(400, ok.err().message);
    parsed.emplace_back(k, v);
  }
  if (parsed.empty()) return failure(400, "nothing to set: give KEY=VALUE ...");
  auto before = c.dir.settings(protocol);
  if (!before) return failure(before.err());
  command_reply r;
  for (auto& [k, v] : parsed) {
    auto stored = c.dir.set_setting(protocol, k, v);
    if (!stored) return failure(stored.err());
    std::string old = std::string(directory::find_setting(protocol, k)->default_value);
    if (auto was = before->find(k); was != before->end()) old = was->second;
    r.lines.push_back(fmt::format("{} {} = {} (was {}); new connections use it now", protocol, k,
                                  *stored, shown(old)));
  }
  if (c.node && c.node->settings_changed) c.node->settings_changed();
  return r;
}

}  // namespace

std::vector<command_spec> settings_commands() {
  std::vector<command_spec> out;
  for (auto& kind : protocols()) {
    std::string protocol(kind.name);
    if (directory::settings_for(protocol).empty()) continue;
    arg_spec key;
    key.name = "key";
    key.help = "show only this setting";
    key.positional = true;
    out.push_back({protocol + " get",
                   fmt::format("every {} setting with its value, default and meaning", protocol),
                   {key},
                   false,
                   [protocol](command_context& c, const arguments& a) {
                     return settings_get(c, protocol, a);
                   }});
    arg_spec assignments;
    assignments.name = "assignments";
    assignments.help = "KEY=VALUE";
    assignments.what = arg_spec::kind::list;
    assignments.positional = true;
    assignments.required = true;
    out.push_back({protocol + " set",
                   fmt::format("change {} settings: KEY=VALUE ... (live, no restart)", protocol),
                   {assignments},
                   false,
                   [protocol](command_context& c, const arguments& a) {
                     return settings_set(c, protocol, a);
                   }});
  }
  return out;
}

}  // namespace postern::admin
