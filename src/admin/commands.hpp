// The management shell's subcommands. Each returns the process exit code and
// prints what it did, or what is wrong, in words.
#pragma once

#include <string>
#include <vector>

#include "admin/config.hpp"

namespace postern::admin {

int run_cli(int argc, char** argv);

int serve(const node_config& cfg);
int deliver(const node_config& cfg, const std::string& address, const std::string& sender);
struct probe_options;
// `postern test PROTOCOL`: exit 0 only when every step passed, 1 otherwise.
int run_connectivity_test(const probe_options& o, bool password_stdin, bool json);

// sysexits(3) codes, as dovecot-lda and the rest of the mail world use them.
constexpr int ex_ok = 0;
constexpr int ex_usage = 64;
constexpr int ex_dataerr = 65;
constexpr int ex_nouser = 67;
constexpr int ex_unavailable = 69;
constexpr int ex_software = 70;
constexpr int ex_ioerr = 74;
constexpr int ex_tempfail = 75;
constexpr int ex_noperm = 77;
constexpr int ex_config = 78;

}  // namespace postern::admin
