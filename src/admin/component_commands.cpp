// `postern component get` and `postern component set COMPONENT STATE
// --requester R --reason "..."` (Get-/Set-ServerComponentState): who took a
// component out of service, when and why, in one command (seed 003).
#include <fmt/chrono.h>
#include <fmt/format.h>

#include "admin/node_runtime.hpp"
#include "base/strings.hpp"
#include "directory/directory.hpp"
#include "observe/log.hpp"

namespace postern::admin {

namespace {

std::string utc(int64_t seconds) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z",
                     std::chrono::system_clock::time_point(std::chrono::seconds(seconds)));
}

command_reply component_get(command_context& c, const arguments& a) {
  auto only = value_of(a, "component");
  auto records = c.dir.component_states();
  if (!records) return failure(records.err());
  command_reply r;
  r.columns = {"component", "state", "requester", "requester_state", "since", "reason"};
  for (auto name : directory::component_names) {
    if (!only.empty() && name != only) continue;
    auto effective = directory::state_of(*records, name);
    std::string state(directory::state_name(effective.state));
    if (effective.because && effective.because->component == "serverwide" && name != "serverwide")
      state += " (serverwide)";
    bool any = false;
    for (auto& rec : *records) {
      if (rec.component != name) continue;
      any = true;
      r.rows.push_back({std::string(name), state, rec.requester,
                        std::string(directory::state_name(rec.state)), utc(rec.since),
                        rec.reason.empty() ? "-" : rec.reason});
    }
    if (!any) r.rows.push_back({std::string(name), state, "-", "-", "-", "-"});
  }
  return r;
}

command_reply component_set(command_context& c, const arguments& a) {
  directory::component_record rec;
  rec.component = value_of(a, "component");
  rec.requester = value_of(a, "requester", "admin");
  rec.state = *directory::parse_component_state(value_of(a, "state"));
  rec.reason = value_of(a, "reason");
  if (rec.reason.size() > 500) return failure(400, "--reason is longer than 500 characters");
  if (auto s = c.dir.set_component_state(rec); !s) return failure(s.err());
  if (c.node && c.node->svc.components) c.node->svc.components->refresh(true);
  observe::log(observe::level::warning, "component", "", "{}: {} set by {} ({}){}", rec.component,
               directory::state_name(rec.state), rec.requester, c.requester,
               rec.reason.empty() ? "" : ": " + base::printable(rec.reason, 200));
  auto records = c.dir.component_states();
  if (!records) return failure(records.err());
  auto effective = directory::state_of(*records, rec.component);
  command_reply r;
  r.lines.push_back(fmt::format("{}: {} for {}; {} is now {}", rec.component,
                                directory::state_name(rec.state), rec.requester, rec.component,
                                directory::state_name(effective.state)));
  if (rec.state == directory::component_state::active && effective.because)
    r.lines.push_back(fmt::format("it stays out of service while {} holds it {}",
                                  effective.because->requester,
                                  directory::state_name(effective.because->state)));
  return r;
}

std::vector<std::string> words(std::span<const std::string_view> names) {
  return {names.begin(), names.end()};
}

}  // namespace

std::vector<command_spec> component_commands() {
  std::vector<command_spec> out;
  arg_spec only;
  only.name = "component";
  only.help = "show only this component";
  only.positional = true;
  only.choices = words(directory::component_names);
  out.push_back({"component get",
                 "each component's state and every requester's: who set it, when and why",
                 {only},
                 false,
                 component_get});
  arg_spec component = only, state, requester, reason;
  component.help = "the component (serverwide counts for all)";
  component.required = true;
  state.name = "state";
  state.help = "active, inactive (close open sessions after drain_timeout) or draining";
  state.positional = true;
  state.required = true;
  state.choices = words(directory::component_state_names);
  requester.name = "requester";
  requester.help = "who sets it (default admin); only the same requester can clear it";
  requester.choices = words(directory::requester_names);
  reason.name = "reason";
  reason.help = "why, in words: shown to refused clients and in `component get`";
  out.push_back({"component set",
                 "set one requester's state of a component (survives restarts)",
                 {component, state, requester, reason},
                 false,
                 component_set});
  return out;
}

}  // namespace postern::admin
