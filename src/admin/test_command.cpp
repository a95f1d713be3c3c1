// `postern test PROTOCOL ...`: the connectivity tester on the command line.
// It needs no configuration file: it tests any server, Postern or not.
#include <fmt/format.h>

#include <iostream>

#include "admin/commands.hpp"
#include "admin/connectivity_probe.hpp"
#include "admin/json_codec.hpp"

namespace postern::admin {

int run_connectivity_test(const probe_options& options, bool password_stdin, bool json) {
  probe_options o = options;
  if (!o.user.empty() && o.password.empty()) {
    if (!password_stdin) {
      fmt::print(stderr,
                 "postern: give the password on standard input with --password-stdin (never on "
                 "the command line, where other users can see it)\n");
      return ex_usage;
    }
    std::getline(std::cin, o.password);
    if (!o.password.empty() && o.password.back() == '\r') o.password.pop_back();
  }
  auto report = run_probe(o);
  command_reply r;
  r.columns = {"step", "result", "ms", "detail"};
  for (auto& s : report.steps)
    r.rows.push_back({s.name, s.ok ? "ok" : "FAILED", std::to_string(s.took.count()), s.detail});
  for (auto& s : report.steps)
    if (!s.ok && !s.advice.empty()) r.lines.push_back(fmt::format("{}: {}", s.name, s.advice));
  if (json) {
    fmt::print("{}\n", reply_to_json(r));
  } else {
    std::vector<size_t> width(3, 0);
    for (size_t i = 0; i < 3; ++i) width[i] = r.columns[i].size();
    for (auto& row : r.rows)
      for (size_t i = 0; i < 3; ++i) width[i] = std::max(width[i], row[i].size());
    auto line = [&](const std::vector<std::string>& c) {
      fmt::print("{:<{}}  {:<{}}  {:>{}}  {}\n", c[0], width[0], c[1], width[1], c[2], width[2],
                 c[3]);
    };
    line(r.columns);
    for (auto& row : r.rows) line(row);
    for (auto& l : r.lines) fmt::print("next: {}\n", l);
    fmt::print("{} {}:{}: {}\n", o.protocol, o.host,
               o.port ? o.port : standard_port(o.protocol, o.tls),
               report.ok() ? "every step passed" : "FAILED");
  }
  return report.ok() ? ex_ok : 1;
}

}  // namespace postern::admin
