#include "recorder.hpp"

#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <cmath>

namespace loadgen {

namespace {

constexpr std::size_t max_error_samples = 5;

// Nearest-rank percentile of sorted samples.
double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * sorted.size()));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

// Length of the union of time spans, in seconds.
double union_seconds(std::vector<std::pair<clock_type::time_point, clock_type::time_point>> spans) {
  std::sort(spans.begin(), spans.end());
  clock_type::duration total{};
  auto [start, end] = spans.front();
  for (const auto& [s, e] : spans) {
    if (s > end) {
      total += end - start;
      start = s;
    }
    end = std::max(end, e);
  }
  total += end - start;
  return std::chrono::duration<double>(total).count();
}

double cpu_seconds(int who) {
  rusage ru{};
  getrusage(who, &ru);
  auto sec = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

}  // namespace

void recorder::latency(std::string_view op, clock_type::duration d) {
  auto it = latencies_ms_.find(op);
  if (it == latencies_ms_.end())
    it = latencies_ms_.emplace(std::string(op), std::vector<double>{}).first;
  it->second.push_back(std::chrono::duration<double, std::milli>(d).count());
}

void recorder::error(std::string_view what) {
  ++errors_;
  if (error_samples_.size() < max_error_samples) error_samples_.emplace_back(what);
}

void recorder::transfer(clock_type::time_point start, clock_type::time_point end) {
  transfers_.emplace_back(start, end);
}

void recorder::set_field(std::string key, std::string json_value) {
  fields_[std::move(key)] = std::move(json_value);
}

void recorder::set_string(std::string key, std::string_view value) {
  set_field(std::move(key), json_string(value));
}

std::string recorder::to_json(std::string_view mode, double elapsed) const {
  const double mb = bytes_ / 1e6;
  std::string out =
      fmt::format(R"({{"mode":{},"elapsed_s":{:.6f},"bytes":{},"mb_per_s":{:.3f},"items":{},)"
                  R"("items_per_s":{:.3f},"errors":{})",
                  json_string(mode), elapsed, bytes_, elapsed > 0 ? mb / elapsed : 0.0, items_,
                  elapsed > 0 ? items_ / elapsed : 0.0, errors_);
  if (!transfers_.empty()) {
    const double t = union_seconds(transfers_);
    out += fmt::format(R"(,"transfer_s":{:.6f},"transfer_mb_per_s":{:.3f})", t, mb / t);
  }
  for (const auto& [key, value] : fields_) out += fmt::format(",{}:{}", json_string(key), value);
  out += R"(,"latency_ms":{)";
  bool first = true;
  for (auto [op, samples] : latencies_ms_) {  // copy: sorting
    std::sort(samples.begin(), samples.end());
    out += fmt::format(R"({}{}:{{"count":{},"p50":{:.3f},"p90":{:.3f},"p99":{:.3f},"max":{:.3f}}})",
                       first ? "" : ",", json_string(op), samples.size(), percentile(samples, 50),
                       percentile(samples, 90), percentile(samples, 99),
                       samples.empty() ? 0.0 : samples.back());
    first = false;
  }
  out += R"(},"error_samples":[)";
  for (std::size_t i = 0; i < error_samples_.size(); ++i) {
    if (i > 0) out += ',';
    out += json_string(error_samples_[i]);
  }
  out += "]}";
  return out;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c >= 0x7f) {  // keeps the line valid UTF-8
          out += fmt::format("\\u{:04x}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

double process_cpu_seconds() { return cpu_seconds(RUSAGE_SELF); }
double thread_cpu_seconds() { return cpu_seconds(RUSAGE_THREAD); }

}  // namespace loadgen
