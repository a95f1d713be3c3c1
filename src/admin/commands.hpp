// The management shell's subcommands. Each returns the process exit code and
// prints what it did, or what is wrong, in words.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "admin/config.hpp"

namespace postern::admin {

int run_cli(int argc, char** argv);

int serve(const node_config& cfg);
int user_add(const node_config& cfg, const std::string& address, bool password_stdin);
int user_list(const node_config& cfg);
int user_passwd(const node_config& cfg, const std::string& address, bool password_stdin);
int user_remove(const node_config& cfg, const std::string& address);
// `user set ADDRESS --quota-storage 2G --quota-messages 100000`: an option
// left out keeps its value.
int user_set(const node_config& cfg, const std::string& address,
             const std::optional<std::string>& quota_storage,
             const std::optional<std::string>& quota_messages);
int deliver(const node_config& cfg, const std::string& address, const std::string& sender);
int settings_get(const node_config& cfg, const std::string& protocol, const std::string& key);
int settings_set(const node_config& cfg, const std::string& protocol,
                 const std::vector<std::string>& assignments);

// sysexits(3) codes, as dovecot-lda and the rest of the mail world use them.
constexpr int ex_ok = 0;
constexpr int ex_usage = 64;
constexpr int ex_dataerr = 65;
constexpr int ex_nouser = 67;
constexpr int ex_software = 70;
constexpr int ex_ioerr = 74;
constexpr int ex_tempfail = 75;
constexpr int ex_config = 78;

}  // namespace postern::admin
