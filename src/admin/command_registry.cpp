#include "admin/command_registry.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "admin/commands.hpp"
#include "base/strings.hpp"

namespace postern::admin {

namespace {

std::vector<command_spec> build() {
  std::vector<command_spec> all;
  for (auto group : {user_commands(), settings_commands(), node_commands(), session_commands(),
                     component_commands(), log_commands(), block_commands(), cert_commands(),
                     folder_commands(), mailbox_commands(), health_commands(), send_commands(),
                     queue_commands()})
    for (auto& c : group) all.push_back(std::move(c));
  return all;
}

std::string described(const arg_spec& a) {
  if (a.what == arg_spec::kind::flag) return fmt::format("'{}' (true or false)", a.name);
  if (!a.choices.empty()) return fmt::format("'{}' ({})", a.name, fmt::join(a.choices, " or "));
  return fmt::format("'{}'", a.name);
}

}  // namespace

std::span<const command_spec> commands() {
  static const std::vector<command_spec> all = build();
  return all;
}

const command_spec* find_command(std::string_view name) {
  for (auto& c : commands())
    if (c.name == name) return &c;
  return nullptr;
}

command_reply failure(int status, std::string words) {
  command_reply r;
  r.status = status;
  r.error = std::move(words);
  return r;
}

command_reply failure(const base::error& e) {
  switch (e.code) {
    case base::errc::not_found:
      return failure(404, e.message);
    case base::errc::already_exists:
      return failure(409, e.message);
    case base::errc::invalid_argument:
    case base::errc::cannot:
      return failure(400, e.message);
    case base::errc::temporary:
    case base::errc::unavailable:
    case base::errc::in_use:
      return failure(503, e.message);
    default:
      return failure(500, e.message);
  }
}

std::optional<command_reply> check_arguments(const command_spec& c, const arguments& a) {
  for (auto& [name, values] : a) {
    auto spec = std::find_if(c.args.begin(), c.args.end(),
                             [&, &name = name](const arg_spec& s) { return s.name == name; });
    if (spec == c.args.end()) {
      std::vector<std::string> known;
      for (auto& s : c.args) known.push_back(s.name);
      return failure(
          400, fmt::format("'{}' takes no argument '{}' (it takes: {})", c.name,
                           base::printable(name, 60),
                           known.empty() ? "none" : fmt::format("{}", fmt::join(known, ", "))));
    }
    if (spec->what != arg_spec::kind::list && values.size() != 1)
      return failure(400, fmt::format("'{}': {} takes one value, not {}", c.name, described(*spec),
                                      values.size()));
    for (auto& v : values) {
      if (spec->what == arg_spec::kind::flag && v != "true" && v != "false")
        return failure(400, fmt::format("'{}': {} must be true or false, not '{}'", c.name,
                                        described(*spec), base::printable(v, 60)));
      if (!spec->choices.empty() &&
          std::find(spec->choices.begin(), spec->choices.end(), v) == spec->choices.end())
        return failure(400, fmt::format("'{}': {} must be {}, not '{}'", c.name, spec->name,
                                        fmt::join(spec->choices, " or "), base::printable(v, 60)));
      if (v.find('\0') != std::string::npos)
        return failure(400, fmt::format("'{}': {} holds a NUL byte", c.name, spec->name));
    }
  }
  for (auto& s : c.args)
    if (s.required && !a.contains(s.name))
      return failure(400, fmt::format("'{}' needs {}: {}", c.name, described(s), s.help));
  return std::nullopt;
}

int exit_code(const command_reply& r) {
  switch (r.status) {
    case 200:
      return r.problems ? ex_dataerr : ex_ok;
    case 400:
    case 405:
    case 413:
      return ex_usage;
    case 401:
    case 403:
      return ex_noperm;
    case 404:
      return ex_nouser;
    case 409:
      return ex_dataerr;
    case 503:
      return ex_tempfail;
    default:
      return ex_software;
  }
}

std::string value_of(const arguments& a, std::string_view name, std::string fallback) {
  auto it = a.find(name);
  if (it == a.end() || it->second.empty()) return fallback;
  return it->second.front();
}

bool has(const arguments& a, std::string_view name) { return a.find(name) != a.end(); }

}  // namespace postern::admin
