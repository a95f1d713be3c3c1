// postern-loadgen: drives a mail server (or an in-process byte source) and
// prints one JSON line with throughput, latency percentiles, errors and its
// own CPU time. Exit status: 0 without errors, 1 with errors, 2 on bad usage.
#include <fmt/format.h>

#include <cstdio>
#include <iostream>
#include <stdexcept>

#include "options.hpp"
#include "recorder.hpp"
#include "session.hpp"

int main(int argc, char** argv) {
  loadgen::options opt;
  try {
    opt = loadgen::parse_options(argc, argv);
  } catch (const std::invalid_argument& e) {
    if (*e.what() != '\0') fmt::print(stderr, "postern-loadgen: {}\n\n", e.what());
    fmt::print(stderr, "{}", loadgen::usage());
    return 2;
  }
  try {
    std::string line;
    if (opt.mode == "pop3-download") {
      line = loadgen::run_pop3_download(opt);
    } else if (opt.mode == "lmtp-deliver" || opt.mode == "smtp-submit") {
      line = loadgen::run_lmtp_deliver(opt, opt.mode == "smtp-submit");
    } else if (opt.mode == "imap-login") {
      line = loadgen::run_imap_login(opt);
    } else if (opt.mode == "imap-commands") {
      line = loadgen::run_imap_commands(opt);
    } else if (opt.mode == "raw-tcp" || opt.mode == "raw-tls") {
      line = loadgen::run_raw_stream(opt, opt.mode == "raw-tls");
    } else {
      fmt::print(stderr, "postern-loadgen: unknown mode {}\n\n{}", opt.mode, loadgen::usage());
      return 2;
    }
    std::cout << line << std::endl;
    return line.find("\"errors\":0,") == std::string::npos ? 1 : 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "postern-loadgen: {}\n", e.what());
    return 2;
  }
}
