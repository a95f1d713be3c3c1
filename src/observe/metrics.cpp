#include "observe/metrics.hpp"

#include <fmt/format.h>

#include <cctype>

namespace postern::observe {

namespace {

void observe(std::array<uint64_t, metrics::buckets.size() + 1>& counts, double& sum,
             uint64_t& count, double seconds) {
  size_t i = 0;
  while (i < metrics::buckets.size() && seconds > metrics::buckets[i]) ++i;
  ++counts[i];
  sum += seconds;
  ++count;
}

std::string labels_text(const std::vector<std::pair<std::string, std::string>>& labels) {
  if (labels.empty()) return {};
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i)
    out += fmt::format("{}{}=\"{}\"", i ? "," : "", labels[i].first, label_value(labels[i].second));
  return out + "}";
}

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += fmt::format("# TYPE {} {}\n# HELP {} {}\n", name, type, name, help);
}

template <class H>
void histogram_lines(std::string& out, std::string_view name,
                     const std::vector<std::pair<std::string, std::string>>& labels, const H& h) {
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= metrics::buckets.size(); ++i) {
    cumulative += h.counts[i];
    auto with_le = labels;
    with_le.emplace_back("le", i < metrics::buckets.size() ? fmt::format("{}", metrics::buckets[i])
                                                           : std::string("+Inf"));
    out += fmt::format("{}_bucket{} {}\n", name, labels_text(with_le), cumulative);
  }
  out += fmt::format("{}_sum{} {}\n", name, labels_text(labels), h.sum);
  out += fmt::format("{}_count{} {}\n", name, labels_text(labels), h.count);
}

}  // namespace

std::string result_label(std::string_view code) {
  if (code.empty()) return "none";
  if (std::isdigit(static_cast<unsigned char>(code[0]))) return fmt::format("{}xx", code[0]);
  std::string out;
  for (char c : code)
    if (std::isalpha(static_cast<unsigned char>(c)))
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out.empty() ? "other" : out;
}

std::string label_value(std::string_view v) {
  std::string out;
  for (char c : v.substr(0, 200)) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out;
}

void metrics::count_command(std::string_view protocol, std::string_view verb,
                            std::string_view result, std::chrono::microseconds duration,
                            uint64_t bytes_in, uint64_t bytes_out) {
  double seconds = static_cast<double>(duration.count()) / 1e6;
  auto outcome = result_label(result);
  std::lock_guard lock(mu_);
  ++commands_[command_key{std::string(protocol), std::string(verb), outcome}];
  auto& h = durations_[{std::string(protocol), std::string(verb)}];
  observe(h.counts, h.sum, h.count, seconds);
  auto& b = bytes_[std::string(protocol)];
  b.first += bytes_in;
  b.second += bytes_out;
  if (protocol == "lmtp" && verb == "DATA") {
    ++deliveries_[outcome];
    observe(delivery_duration_.counts, delivery_duration_.sum, delivery_duration_.count, seconds);
  }
}

void metrics::count_store_commit(std::chrono::microseconds duration) {
  double seconds = static_cast<double>(duration.count()) / 1e6;
  std::lock_guard lock(mu_);
  observe(store_commit_.counts, store_commit_.sum, store_commit_.count, seconds);
}

void metrics::count_login(std::string_view protocol, std::string_view result) {
  std::lock_guard lock(mu_);
  ++logins_[{std::string(protocol), std::string(result)}];
}

void metrics::count_health(std::string_view protocol, bool ok) {
  std::lock_guard lock(mu_);
  ++health_[{std::string(protocol), ok ? "ok" : "failed"}];
}

void metrics::count_health_change(std::string_view protocol, std::string_view state) {
  std::lock_guard lock(mu_);
  ++health_changes_[{std::string(protocol), std::string(state)}];
}

void metrics::count_retention(uint64_t expunged) {
  std::lock_guard lock(mu_);
  retention_expunged_ += expunged;
}

std::string metrics::render(const std::vector<sample>& extra) const {
  std::string out;
  {
    std::lock_guard lock(mu_);
    family(out, "postern_commands", "counter", "commands run, by protocol, verb and result");
    for (auto& [k, n] : commands_)
      out += fmt::format(
          "postern_commands_total{} {}\n",
          labels_text({{"protocol", k.protocol}, {"verb", k.verb}, {"result", k.result}}), n);
    family(out, "postern_command_duration_seconds", "histogram",
           "time from a command's arrival to its last reply byte queued");
    for (auto& [k, h] : durations_)
      histogram_lines(out, "postern_command_duration_seconds",
                      {{"protocol", k.first}, {"verb", k.second}}, h);
    family(out, "postern_received_bytes", "counter", "bytes received from clients");
    for (auto& [p, b] : bytes_)
      out += fmt::format("postern_received_bytes_total{} {}\n", labels_text({{"protocol", p}}),
                         b.first);
    family(out, "postern_sent_bytes", "counter", "bytes sent to clients");
    for (auto& [p, b] : bytes_)
      out +=
          fmt::format("postern_sent_bytes_total{} {}\n", labels_text({{"protocol", p}}), b.second);
    family(out, "postern_logins", "counter", "login attempts by protocol and result");
    for (auto& [k, n] : logins_)
      out += fmt::format("postern_logins_total{} {}\n",
                         labels_text({{"protocol", k.first}, {"result", k.second}}), n);
    family(out, "postern_health_probes", "counter", "health probes by protocol and result");
    for (auto& [k, n] : health_)
      out += fmt::format("postern_health_probes_total{} {}\n",
                         labels_text({{"protocol", k.first}, {"result", k.second}}), n);
    family(out, "postern_health_state_changes", "counter",
           "component states the health monitor set, by protocol and state");
    for (auto& [k, n] : health_changes_)
      out += fmt::format("postern_health_state_changes_total{} {}\n",
                         labels_text({{"component", k.first}, {"state", k.second}}), n);
    family(out, "postern_retention_expunged", "counter",
           "messages expunged by retention rules (postern folder set --expunge-after)");
    out += fmt::format("postern_retention_expunged_total {}\n", retention_expunged_);
    family(out, "postern_deliveries", "counter", "LMTP DATA transactions by result");
    for (auto& [r, n] : deliveries_)
      out += fmt::format("postern_deliveries_total{} {}\n", labels_text({{"result", r}}), n);
    family(out, "postern_delivery_duration_seconds", "histogram",
           "LMTP DATA from its command to the last recipient's reply");
    histogram_lines(out, "postern_delivery_duration_seconds", {}, delivery_duration_);
    family(out, "postern_store_commit_seconds", "histogram",
           "durable commits of new messages: blob folder sync and index transaction");
    histogram_lines(out, "postern_store_commit_seconds", {}, store_commit_);
  }
  std::string last;
  for (auto& s : extra) {
    if (s.family != last) {
      family(out, s.family, s.type, s.help);
      last = s.family;
    }
    out += fmt::format("{}{}{} {}\n", s.family, s.type == "counter" ? "_total" : "",
                       labels_text(s.labels), s.value);
  }
  out += "# EOF\n";
  return out;
}

}  // namespace postern::observe
