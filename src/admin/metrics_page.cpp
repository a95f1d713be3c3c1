// GET /metrics: the node's counters (observe::metrics) and what it holds now
// (connections, component states, protocol-log drops, limit refusals,
// process memory and descriptors), as OpenMetrics text.
#include <dirent.h>
#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <map>

#include "admin/node_runtime.hpp"
#include "admin/text_indexer.hpp"
#include "directory/component_view.hpp"
#include "net/tls.hpp"
#include "observe/protocol_log.hpp"
#include "queue/relay_worker.hpp"

namespace postern::admin {

namespace {

using observe::sample;

void process_samples(std::vector<sample>& out, const node_runtime& node) {
  long page = ::sysconf(_SC_PAGESIZE);
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  if (statm >> size >> resident)
    out.push_back({"postern_process_resident_memory_bytes",
                   "gauge",
                   "resident set size",
                   {},
                   static_cast<double>(resident * static_cast<uint64_t>(page))});
  size_t fds = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (auto* e = ::readdir(d)) fds += e->d_name[0] != '.' ? 1 : 0;
    ::closedir(d);
  }
  out.push_back(
      {"postern_process_open_fds", "gauge", "open file descriptors", {}, static_cast<double>(fds)});
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0)
    out.push_back({"postern_process_max_fds",
                   "gauge",
                   "the descriptor limit (RLIMIT_NOFILE)",
                   {},
                   static_cast<double>(files.rlim_cur)});
  rusage use{};
  if (::getrusage(RUSAGE_SELF, &use) == 0) {
    double cpu = static_cast<double>(use.ru_utime.tv_sec + use.ru_stime.tv_sec) +
                 static_cast<double>(use.ru_utime.tv_usec + use.ru_stime.tv_usec) / 1e6;
    out.push_back({"postern_process_cpu_seconds", "counter", "user and system CPU time", {}, cpu});
  }
  out.push_back({"postern_process_start_time_seconds",
                 "gauge",
                 "when the node started (Unix time)",
                 {},
                 static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(
                                         node.started.time_since_epoch())
                                         .count())});
}

}  // namespace

std::string render_metrics(node_runtime& node) {
  std::vector<sample> extra;
  auto& svc = node.svc;
  if (svc.sessions) {
    std::map<std::pair<std::string, std::string>, double> by;
    for (auto& s : svc.sessions->list())
      by[{s.protocol, s.tls.empty() ? "none" : s.tls.substr(0, s.tls.find(' '))}] += 1;
    for (auto& [k, n] : by)
      extra.push_back({"postern_connections",
                       "gauge",
                       "open sessions by protocol and TLS version",
                       {{"protocol", k.first}, {"tls", k.second}},
                       n});
  }
  for (auto& [k, n] : svc.registry.refusals())
    extra.push_back({"postern_limit_refusals",
                     "counter",
                     "connections and logins refused by a limit, named by its setting",
                     {{"protocol", k.first}, {"limit", k.second}},
                     static_cast<double>(n)});
  if (svc.budgets)
    for (auto& [protocol, t] : svc.budgets->counters()) {
      extra.push_back({"postern_throttled_commands",
                       "counter",
                       "commands the throttling budget held back (delayed) or refused",
                       {{"protocol", protocol}, {"action", "delayed"}},
                       static_cast<double>(t.delayed)});
      extra.push_back({"postern_throttled_commands",
                       "counter",
                       "commands the throttling budget held back (delayed) or refused",
                       {{"protocol", protocol}, {"action", "refused"}},
                       static_cast<double>(t.refused)});
    }
  if (svc.components)
    for (auto name : directory::component_names)
      extra.push_back(
          {"postern_component_active",
           "gauge",
           "1 while the component serves (postern component get)",
           {{"component", std::string(name)}},
           svc.components->state(name).state == directory::component_state::active ? 1.0 : 0.0});
  if (node.logs) {
    extra.push_back({"postern_protocol_log_written_lines",
                     "counter",
                     "protocol log lines written",
                     {},
                     static_cast<double>(node.logs->written())});
    extra.push_back({"postern_protocol_log_dropped_lines",
                     "counter",
                     "protocol log lines dropped (queue full, disk full or failing)",
                     {},
                     static_cast<double>(node.logs->dropped())});
  }
  for (auto& lc : node.certificates) {
    X509* x = SSL_CTX_get0_certificate(lc.source->current()->native_handle());
    int days = 0, secs = 0;
    if (x && ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(x)) == 1)
      extra.push_back({"postern_certificate_expiry_seconds",
                       "gauge",
                       "seconds until the listener's certificate expires (negative: expired)",
                       {{"listener", lc.listener}},
                       static_cast<double>(days) * 86400 + secs});
  }
  if (node.relay)
    for (auto& s : node.relay->samples()) extra.push_back(std::move(s));
  if (node.indexer) {
    extra.push_back({"postern_index_queued_messages",
                     "gauge",
                     "messages stored but not yet in their mailbox's full-text index",
                     {},
                     static_cast<double>(node.indexer->queued())});
    extra.push_back({"postern_index_messages",
                     "counter",
                     "messages taken into full-text indexes since the node started",
                     {},
                     static_cast<double>(node.indexer->indexed())});
    extra.push_back({"postern_index_catch_up_turns",
                     "counter",
                     "indexing turns taken at nice 10 because a mailbox had more than 10,000 "
                     "messages waiting (otherwise the indexer takes only idle CPU)",
                     {},
                     static_cast<double>(node.indexer->catch_up_turns())});
  }
  process_samples(extra, node);
  return svc.metrics ? svc.metrics->render(extra) : observe::metrics().render(extra);
}

}  // namespace postern::admin
