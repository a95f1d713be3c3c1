// Command-line parsing only; the work is in the subcommand files.
#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "admin/commands.hpp"
#include "admin/protocols.hpp"

namespace postern::admin {

int run_cli(int argc, char** argv) {
  CLI::App app{"Postern mail access server: POP3 and LMTP over one durable mailbox store"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "postern " POSTERN_VERSION);
  std::string config_path = "/etc/postern/postern.toml";
  app.add_option("--config,-c", config_path, "node configuration file (TOML)")
      ->envname("POSTERN_CONFIG");

  auto* serve_cmd = app.add_subcommand("serve", "run the node in the foreground");
  serve_cmd->fallthrough();

  auto* user = app.add_subcommand("user", "manage users in the directory");
  user->require_subcommand(1);
  user->fallthrough();
  std::string address;
  bool password_stdin = false;
  auto* add = user->add_subcommand("add", "add a user");
  add->add_option("address", address, "mail address")->required();
  add->add_flag("--password-stdin", password_stdin, "read the password from standard input");
  add->fallthrough();
  auto* list = user->add_subcommand("list", "list users");
  list->fallthrough();
  auto* passwd = user->add_subcommand("passwd", "change a user's password");
  passwd->add_option("address", address, "mail address")->required();
  passwd->add_flag("--password-stdin", password_stdin, "read the password from standard input");
  passwd->fallthrough();
  std::optional<std::string> quota_storage, quota_messages;
  auto* uset = user->add_subcommand("set", "change a user's limits (IMAP QUOTA, RFC 9208)");
  uset->add_option("address", address, "mail address")->required();
  uset->add_option("--quota-storage", quota_storage,
                   "largest mailbox size: bytes or 500K, 200M, 2G; 0 for no limit");
  uset->add_option("--quota-messages", quota_messages, "most messages; 0 for no limit");
  uset->fallthrough();
  auto* remove = user->add_subcommand("remove", "remove a user and their mailbox");
  remove->add_option("address", address, "mail address")->required();
  remove->fallthrough();

  auto* deliver_cmd = app.add_subcommand(
      "deliver",
      "deliver a message from standard input (exit 0 delivered, 67 unknown user, 75 "
      "temporary failure)");
  std::string sender;
  deliver_cmd->add_option("address", address, "recipient")->required();
  deliver_cmd->add_option("-f,--from", sender, "envelope sender, recorded as Return-Path");
  deliver_cmd->fallthrough();

  std::string key;
  std::vector<std::string> assignments;
  std::vector<CLI::App*> protocol_cmds, getters, setters;
  for (auto& kind : protocols()) {
    std::string proto(kind.name);
    auto* p = app.add_subcommand(
        proto, fmt::format("show or change {} settings (live, no restart)", proto));
    p->require_subcommand(0, 1);  // alone, it shows the settings like `get`
    p->fallthrough();
    auto* get = p->add_subcommand("get", "list every setting with its value and default");
    get->add_option("key", key, "show only this setting");
    get->fallthrough();
    auto* set = p->add_subcommand("set", "change settings: KEY=VALUE ...");
    set->add_option("assignments", assignments, "KEY=VALUE")->required();
    set->fallthrough();
    protocol_cmds.push_back(p);
    getters.push_back(get);
    setters.push_back(set);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : ex_usage;
  }

  auto cfg = load_config(config_path);
  if (!cfg) {
    fmt::print(stderr, "postern: {}\n", cfg.err().message);
    return ex_config;
  }
  if (*serve_cmd) return serve(*cfg);
  if (*add) return user_add(*cfg, address, password_stdin);
  if (*list) return user_list(*cfg);
  if (*passwd) return user_passwd(*cfg, address, password_stdin);
  if (*remove) return user_remove(*cfg, address);
  if (*uset) return user_set(*cfg, address, quota_storage, quota_messages);
  if (*deliver_cmd) return deliver(*cfg, address, sender);
  for (size_t i = 0; i < getters.size(); ++i) {
    std::string proto(protocols()[i].name);
    if (*getters[i]) return settings_get(*cfg, proto, key);
    if (*setters[i]) return settings_set(*cfg, proto, assignments);
    if (*protocol_cmds[i]) return settings_get(*cfg, proto, "");
  }
  return ex_usage;
}

}  // namespace postern::admin
