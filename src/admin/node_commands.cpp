// `postern node status`: is the node ready to serve, and why not. The same
// checks answer the load balancers' GET /readyz.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/statvfs.h>

#include "admin/node_runtime.hpp"
#include "base/files.hpp"
#include "directory/component_view.hpp"
#include "directory/directory.hpp"

namespace postern::admin {

namespace {

command_reply node_status(command_context& c, const arguments&) {
  auto r = readiness(*c.node);
  if (!r.ok()) return r;
  auto up = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() -
                                                             c.node->started);
  r.lines.insert(r.lines.begin(), fmt::format("postern {} serving from {} for {} s",
                                              POSTERN_VERSION, c.cfg.data_dir, up.count()));
  return r;
}

}  // namespace

command_reply readiness(node_runtime& node) {
  command_reply r;
  r.columns = {"check", "state", "detail"};
  bool ready = true;
  auto add = [&](std::string check, const std::string& problem, std::string fine) {
    ready = ready && problem.empty();
    r.rows.push_back(
        {std::move(check), problem.empty() ? "ok" : "failed", problem.empty() ? fine : problem});
  };
  auto settings = node.svc.dir.settings("pop3");
  add("directory", settings ? std::string() : settings.err().message,
      fmt::format("{}/directory.sqlite answers", node.cfg.data_dir));
  // The store must take a write that reaches the disk (the mailboxes live below).
  std::string store = base::synced_write_problem(node.cfg.data_dir + "/.ready-probe");
  struct statvfs fs {};
  std::string space = "free space unknown";
  if (store.empty() && ::statvfs(node.cfg.data_dir.c_str(), &fs) == 0) {
    uint64_t free_bytes = uint64_t{fs.f_bavail} * fs.f_frsize;
    space = fmt::format("{} MiB free", free_bytes >> 20);
    if (free_bytes < (uint64_t{64} << 20))
      store = fmt::format("{} has {} MiB free, under 64 MiB", node.cfg.data_dir, free_bytes >> 20);
  }
  add("store", store, fmt::format("{} writable, {}", node.cfg.data_dir, space));
  std::string out_of_service;
  if (node.svc.components)
    for (auto name : directory::component_names) {
      auto st = node.svc.components->state(name);
      if (st.state != directory::component_state::active && st.because &&
          st.because->component == name)
        out_of_service += fmt::format("{}{}", out_of_service.empty() ? "" : "; ",
                                      directory::out_of_service_words(name, st));
    }
  add("components", out_of_service, "every component active");
  add("listeners", "",
      fmt::format("{} bound: {}", node.listening.size(), fmt::join(node.listening, "; ")));
  if (!ready) {
    auto failed = failure(503, "not ready");
    for (auto& row : r.rows)
      if (row[1] != "ok") failed.error += fmt::format("; {}: {}", row[0], row[2]);
    return failed;
  }
  return r;
}

std::vector<command_spec> node_commands() {
  std::vector<command_spec> out;
  out.push_back(
      {"node status", "whether the node is ready to serve, and why not", {}, true, node_status});
  return out;
}

}  // namespace postern::admin
