// Command-line parsing. `serve` and `deliver` are local; every other command
// comes from the command registry and runs on the node through its admin API,
// or, while the node is not running, on the data folder directly (only the
// commands that need no running node).
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <map>
#include <memory>

#include "admin/admin_token.hpp"
#include "admin/api_client.hpp"
#include "admin/command_registry.hpp"
#include "admin/commands.hpp"
#include "admin/connectivity_probe.hpp"
#include "admin/data_owner.hpp"
#include "admin/json_codec.hpp"
#include "admin/manual.hpp"
#include "base/strings.hpp"
#include "directory/directory.hpp"
#include "store/store.hpp"

namespace postern::admin {

namespace {

// One registry command as CLI11 sees it.
struct bound_command {
  const command_spec* spec = nullptr;
  CLI::App* app = nullptr;
  std::map<std::string, std::string> texts;
  std::map<std::string, std::vector<std::string>> lists;
  std::map<std::string, CLI::Option*> options;
  bool password_stdin = false;
};

std::string option_name(const std::string& arg) {
  std::string out = "--" + arg;
  for (auto& c : out)
    if (c == '_') c = '-';
  return out;
}

CLI::App* child(CLI::App& parent, const std::string& name) {
  for (auto* sub : parent.get_subcommands([](CLI::App*) { return true; }))
    if (sub->get_name() == name) return sub;
  auto* sub = parent.add_subcommand(name, "");
  sub->fallthrough();
  return sub;
}

std::string group_help(const std::string& name) {
  static const std::map<std::string, std::string> help = {
      {"user",
       "users: add, list, passwd, remove, set (limits, protocol access), stat, alias, grant"},
      {"node", "the running node: status"},
      {"session", "the node's sessions: list, kill"},
      {"component", "component states (who took what out of service): get, set"},
      {"log", "protocol logs: search"},
      {"block", "failed-login blocks: list, clear"},
      {"cert", "certificates in use: list (the default), reload"},
      {"folder", "folder retention: set, get"},
      {"retention", "apply the retention rules now: run"},
      {"mailbox", "a mailbox's index against its files: check, repair"},
      {"health", "the health probe's own account: account"},
      {"alias", "a user's other addresses, which they may send as: add, remove, list"},
  };
  if (auto it = help.find(name); it != help.end()) return it->second;
  return fmt::format("show or change {} settings (live, no restart)", name);
}

void bind(CLI::App& app, bound_command& b) {
  auto words = base::split(b.spec->name, ' ');
  CLI::App* at = &app;
  for (size_t i = 0; i + 1 < words.size(); ++i) at = child(*at, words[i]);
  b.app = at->add_subcommand(words.back(), b.spec->help);
  b.app->fallthrough();
  for (auto& a : b.spec->args) {
    if (a.secret) {
      b.app->add_flag("--" + a.name + "-stdin", b.password_stdin,
                      fmt::format("read the {} from standard input", a.name));
      continue;
    }
    CLI::Option* opt = nullptr;
    auto name = a.positional ? a.name : option_name(a.name);
    if (a.what == arg_spec::kind::flag) {
      opt = b.app->add_flag(name, a.help);
    } else if (a.what == arg_spec::kind::list) {
      opt = b.app->add_option(name, b.lists[a.name], a.help);
    } else {
      opt = b.app->add_option(name, b.texts[a.name], a.help);
    }
    if (a.required && !a.secret) opt->required();
    if (!a.choices.empty()) opt->check(CLI::IsMember(a.choices));
    b.options[a.name] = opt;
  }
}

// What the user typed, as the registry's arguments; nullopt after saying
// what is missing.
std::optional<arguments> collect(bound_command& b) {
  arguments out;
  for (auto& a : b.spec->args) {
    if (a.secret) {
      if (!b.password_stdin) {
        fmt::print(stderr,
                   "postern: give the {} on standard input with --{}-stdin (never on the "
                   "command line, where other users can see it)\n",
                   a.name, a.name);
        return std::nullopt;
      }
      std::string line;
      std::getline(std::cin, line);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) {
        fmt::print(stderr, "postern: the {} read from standard input is empty\n", a.name);
        return std::nullopt;
      }
      out[a.name] = {line};
      continue;
    }
    auto* opt = b.options[a.name];
    if (!opt || opt->count() == 0) continue;
    if (a.what == arg_spec::kind::flag)
      out[a.name] = {"true"};
    else if (a.what == arg_spec::kind::list)
      out[a.name] = b.lists[a.name];
    else
      out[a.name] = {b.texts[a.name]};
  }
  return out;
}

void print_reply(const command_reply& r, bool json) {
  if (json) {
    fmt::print("{}\n", reply_to_json(r));
    return;
  }
  if (!r.ok()) {
    fmt::print(stderr, "postern: {}\n", r.error);
    return;
  }
  for (auto& l : r.lines) fmt::print("{}\n", l);
  if (r.columns.empty()) return;
  std::vector<size_t> width(r.columns.size());
  for (size_t i = 0; i < r.columns.size(); ++i) width[i] = r.columns[i].size();
  for (auto& row : r.rows)
    for (size_t i = 0; i < row.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], row[i].size());
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t i = 0; i < cells.size() && i < width.size(); ++i) {
      if (i + 1 == cells.size())
        out += cells[i];
      else
        out += fmt::format("{:<{}}  ", cells[i], width[i]);
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    fmt::print("{}\n", out);
  };
  line(r.columns);
  for (auto& row : r.rows) line(row);
}

// The protocol's external_connection_settings, read from the directory
// (SQLite lets this process read while the node runs).
base::result<std::vector<directory::external_endpoint>> external_endpoints(
    const node_config& cfg, const std::string& protocol) {
  auto dir = directory::open_sqlite_directory(cfg.data_dir, false);
  if (!dir) return dir.err();
  auto stored = (*dir)->settings(protocol);
  if (!stored) return stored.err();
  auto it = stored->find("external_connection_settings");
  std::string bad;
  auto list = it == stored->end() ? std::optional<std::vector<directory::external_endpoint>>{}
                                  : directory::parse_endpoints(it->second, bad);
  if (!list || list->empty())
    return base::error{base::errc::not_found,
                       fmt::format("{} has no external_connection_settings: set them with `postern "
                                   "{} set external_connection_settings=host:port:ssl`",
                                   protocol, protocol),
                       ""};
  return *list;
}

// On the data folder directly: what `postern user add` needs before the
// node's first start, and what works while it is stopped.
command_reply run_locally(const node_config& cfg, const command_spec& spec, const arguments& a) {
  auto dir = directory::open_sqlite_directory(cfg.data_dir, true);
  if (!dir) return failure(dir.err());
  auto mail = store::make_sqlite_store(cfg.data_dir);
  command_context ctx{cfg, **dir, *mail, nullptr, "command line"};
  return spec.run(ctx, a);
}

int execute(const node_config& cfg, const command_spec& spec, const arguments& a, bool json) {
  std::string why_local;
  if (auto api = find_api(cfg)) {
    auto token = read_admin_token(cfg.data_dir);
    if (token) {
      auto call = call_api(*api, *token, spec.name, a);
      if (call.what == api_call::outcome::answered) {
        fmt::print(stderr, "postern: ran on the node at {}\n", api->where());
        print_reply(call.reply, json);
        return exit_code(call.reply);
      }
      if (call.what == api_call::outcome::failed) {
        fmt::print(stderr, "postern: the node's admin API failed: {}\n", call.why);
        return ex_unavailable;
      }
      why_local = fmt::format("the node is not running ({})", call.why);
    } else if (token.err().code == base::errc::not_found) {
      why_local = "the node has not started yet (no admin token)";
    } else {
      fmt::print(stderr, "postern: {}\n", token.err().message);
      return ex_noperm;
    }
  } else {
    why_local = fmt::format("{} has no admin listener", cfg.path);
  }
  if (spec.needs_node) {
    fmt::print(stderr, "postern: '{}' needs the running node, but {}\n", spec.name, why_local);
    return ex_unavailable;
  }
  fmt::print(stderr, "postern: {}; working on the data folder {} directly\n", why_local,
             cfg.data_dir);
  auto r = run_locally(cfg, spec, a);
  print_reply(r, json);
  return exit_code(r);
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{
      "Postern mail access server: POP3, IMAP, submission and LMTP over one durable mailbox "
      "store"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "postern " POSTERN_VERSION);
  std::string config_path = "/etc/postern/postern.toml";
  app.add_option("--config,-c", config_path, "node configuration file (TOML)")
      ->envname("POSTERN_CONFIG")
      ->capture_default_str();
  bool json = false;
  app.add_flag("--json", json, "print the answer as JSON");

  auto* serve_cmd = app.add_subcommand("serve", "run the node in the foreground");
  serve_cmd->fallthrough();
  auto* deliver_cmd = app.add_subcommand(
      "deliver",
      "deliver a message from standard input (exit 0 delivered, 67 unknown user, 75 "
      "temporary failure)");
  std::string address, sender;
  deliver_cmd->add_option("address", address, "recipient")->required();
  deliver_cmd->add_option("-f,--from", sender, "envelope sender, recorded as Return-Path");
  deliver_cmd->fallthrough();

  // `postern test`: against any server, no configuration needed.
  probe_options probe;
  std::string probe_tls_mode = "implicit";
  bool probe_password_stdin = false;
  int probe_timeout = 10;
  auto* test_cmd = app.add_subcommand(
      "test",
      "test a server step by step: resolve, connect, TLS, greeting, capabilities, login, "
      "list, fetch one, logout (exit 0 only when every step passed)");
  test_cmd->add_option("protocol", probe.protocol, "pop3, imap, smtp or lmtp")
      ->required()
      ->check(CLI::IsMember({"pop3", "imap", "smtp", "lmtp"}));
  test_cmd->add_option("--host", probe.host, "server name or address (default 127.0.0.1)");
  test_cmd->add_option("--port", probe.port, "port (default: the protocol's standard one)");
  test_cmd->add_option("--tls", probe_tls_mode, "implicit (default), starttls or none")
      ->check(CLI::IsMember({"implicit", "starttls", "none"}));
  test_cmd->add_option("--user", probe.user, "log in as this user (LMTP: check this recipient)");
  test_cmd->add_flag("--password-stdin", probe_password_stdin,
                     "read the password from standard input");
  test_cmd->add_option("--ca-file", probe.ca_file,
                       "trust this certificate (PEM) besides the system's CAs");
  test_cmd->add_option("--timeout", probe_timeout, "seconds each step may take (default 10)")
      ->check(CLI::Range(1, 300));
  bool probe_external = false;
  test_cmd->add_flag("--external", probe_external,
                     "test every entry of the protocol's external_connection_settings (reads "
                     "--config)");
  test_cmd->fallthrough();

  // Hidden (no group): what the build turns into the man pages.
  auto* manual_cmd = app.add_subcommand("manual", "print a manual page as roff");
  manual_cmd->group("");
  std::string manual_page;
  manual_cmd->add_option("page", manual_page, "postern.8 or postern.toml.5")
      ->required()
      ->check(CLI::IsMember({"postern.8", "postern.toml.5"}));

  std::vector<std::unique_ptr<bound_command>> bound;
  for (auto& spec : commands()) {
    auto b = std::make_unique<bound_command>();
    b->spec = &spec;
    bind(app, *b);
    bound.push_back(std::move(b));
  }
  // A group alone: `postern pop3` shows the settings like `postern pop3 get`.
  for (auto* group : app.get_subcommands([](CLI::App*) { return true; })) {
    if (group == serve_cmd || group == deliver_cmd || group == test_cmd || group == manual_cmd)
      continue;
    auto name = group->get_name();
    auto* shown =
        find_command(name + " get") ? find_command(name + " get") : find_command(name + " list");
    group->require_subcommand(shown ? 0 : 1, 1);
    if (group->get_description().empty()) group->description(group_help(name));
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : ex_usage;
  }

  if (*manual_cmd) {
    fmt::print("{}", manual_page == "postern.8" ? manual_postern_8(app) : manual_postern_toml_5());
    return ex_ok;
  }

  if (*test_cmd) {
    probe.tls = probe_tls_mode == "starttls" ? probe_tls::starttls
                : probe_tls_mode == "none"   ? probe_tls::none
                                             : probe_tls::implicit;
    if (probe.protocol == "lmtp" && probe_tls_mode == "implicit" && !test_cmd->count("--tls"))
      probe.tls = probe_tls::none;  // LMTP has no implicit-TLS port
    probe.timeout = std::chrono::seconds(probe_timeout);
    if (!probe_external) return run_connectivity_test(probe, probe_password_stdin, json);
    // Every way outside clients are told to come in, as the node's settings say.
    auto cfg = load_config(config_path);
    if (!cfg) {
      fmt::print(stderr, "postern: {}\n", cfg.err().message);
      return ex_config;
    }
    auto endpoints = external_endpoints(*cfg, probe.protocol);
    if (!endpoints) {
      fmt::print(stderr, "postern: {}\n", endpoints.err().message);
      return ex_config;
    }
    std::string password;
    if (probe_password_stdin) std::getline(std::cin, password);
    if (!password.empty() && password.back() == '\r') password.pop_back();
    int worst = ex_ok;
    for (auto& e : *endpoints) {
      auto one = probe;
      one.host = e.host;
      one.port = e.port;
      one.tls = e.tls == "ssl"   ? probe_tls::implicit
                : e.tls == "tls" ? probe_tls::starttls
                                 : probe_tls::none;
      one.password = password;
      int code = run_connectivity_test(one, false, json);
      if (code != ex_ok) worst = code;
    }
    return worst;
  }

  auto cfg = load_config(config_path);
  if (!cfg) {
    fmt::print(stderr, "postern: {}\n", cfg.err().message);
    return ex_config;
  }
  if (*serve_cmd) {
    // As root over a folder that is another user's (the package's postern),
    // every file the node created would become root's and the service could
    // no longer write it.
    if (auto owner = foreign_owner(cfg->data_dir); !owner.empty() && ::geteuid() == 0) {
      fmt::print(stderr,
                 "postern: cannot start: running as root, but data_dir {} belongs to {}: start "
                 "the service (systemctl start postern), or run postern serve as {}\n",
                 cfg->data_dir, owner, owner);
      return ex_noperm;
    }
    return serve(*cfg);
  }
  // Every other command that may touch the data folder works as its owner.
  if (auto s = act_as_data_owner(cfg->data_dir); !s) {
    fmt::print(stderr, "postern: {}\n", s.err().message);
    return ex_noperm;
  }
  if (*deliver_cmd) return deliver(*cfg, address, sender);
  for (auto& b : bound) {
    if (!*b->app) continue;
    auto a = collect(*b);
    if (!a) return ex_usage;
    if (auto bad = check_arguments(*b->spec, *a)) {
      print_reply(*bad, json);
      return exit_code(*bad);
    }
    return execute(*cfg, *b->spec, *a, json);
  }
  // A group alone shows what its `get` or `list` shows (`postern pop3`, `postern cert`).
  for (auto* group : app.get_subcommands([](CLI::App*) { return true; })) {
    if (!*group) continue;
    auto* shown = find_command(group->get_name() + " get");
    if (!shown) shown = find_command(group->get_name() + " list");
    if (shown) return execute(*cfg, *shown, {}, json);
  }
  return ex_usage;
}

}  // namespace postern::admin
