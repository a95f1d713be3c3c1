// The one registry of management commands. Each command is declared once —
// name, arguments, validation, handler — and that declaration drives both the
// CLI (`postern session list --user joe@example.com`, built with CLI11) and
// the HTTP API (`POST /api/session/list {"user": "joe@example.com"}`).
// Handlers return a reply (lines of words, a table, or an error with its
// status); the CLI prints it as text or `--json`, the API sends it as JSON.
//
// Threads: handlers block (SQLite, password hashing): the API runs them on the
// blocking pool, never on an I/O thread. The registry itself is immutable.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "admin/config.hpp"
#include "base/error.hpp"

namespace postern::directory {
class directory;
}
namespace postern::store {
class store;
}

namespace postern::admin {

struct node_runtime;  // what only a running node has; see node_runtime.hpp

// Validated arguments: each given argument's values (a flag's is "true").
using arguments = std::map<std::string, std::vector<std::string>, std::less<>>;

struct arg_spec {
  enum class kind { text, flag, list };
  std::string name;  // the JSON key; on the command line `--name`, or a position
  std::string help;
  kind what = kind::text;
  bool positional = false;
  bool required = false;
  std::vector<std::string> choices;  // when not empty, the only values allowed
  // A password: the CLI reads it from standard input (`--password-stdin`),
  // never from the command line; logs never show it.
  bool secret = false;
};

struct command_reply {
  int status = 200;                // HTTP status: 200, 400, 404, 409, 500, 503
  std::string error;               // when status is not 200: what is wrong, in words
  std::vector<std::string> lines;  // what was done, in words
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  // The request succeeded but what it looked at is not right (`mailbox check`
  // found problems): the CLI exits 65 (EX_DATAERR) after printing the answer.
  bool problems = false;

  bool ok() const { return status == 200; }
};

// A failed reply whose status follows the domain error (not_found 404,
// already_exists 409, invalid_argument 400, temporary/unavailable 503, else 500).
command_reply failure(const base::error& e);
command_reply failure(int status, std::string words);

struct command_context {
  const node_config& cfg;
  directory::directory& dir;
  store::store& mail;
  node_runtime* node = nullptr;  // nullptr: the CLI works on the data folder directly
  std::string requester;         // who asked, for the node's log
};

struct command_spec {
  std::string name;  // words, "user add"; the API path is /api/user/add
  std::string help;
  std::vector<arg_spec> args;
  // Only a running node can answer (its sessions, its components' live state):
  // the CLI never falls back to the data folder for it.
  bool needs_node = false;
  std::function<command_reply(command_context&, const arguments&)> run;
};

std::span<const command_spec> commands();
const command_spec* find_command(std::string_view name);

// Names, kinds, required arguments and choices; the 400 reply names the
// argument and what it takes.
std::optional<command_reply> check_arguments(const command_spec& c, const arguments& a);

// sysexits(3) code for a reply: 0, 64 usage, 65 data, 67 no user, 69
// unavailable, 70 software, 75 temporary, 77 no permission.
int exit_code(const command_reply& r);

// The first value of an argument, or `fallback` when it was not given.
std::string value_of(const arguments& a, std::string_view name, std::string fallback = {});
bool has(const arguments& a, std::string_view name);

// Each group of commands declares itself in its own file.
std::vector<command_spec> user_commands();
std::vector<command_spec> settings_commands();
std::vector<command_spec> node_commands();
std::vector<command_spec> session_commands();
std::vector<command_spec> component_commands();
std::vector<command_spec> log_commands();
std::vector<command_spec> block_commands();
std::vector<command_spec> cert_commands();
std::vector<command_spec> folder_commands();
std::vector<command_spec> mailbox_commands();
std::vector<command_spec> health_commands();
std::vector<command_spec> send_commands();
std::vector<command_spec> queue_commands();

}  // namespace postern::admin
