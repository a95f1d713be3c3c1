#include "session/core/protocol_log_observer.hpp"

#include <fmt/format.h>

#include "observe/log.hpp"

namespace postern::session::core {

bool protocol_log_observer::wanted() const { return log_.any_enabled() || log_observer().wanted(); }

std::string protocol_log_context(const command_record& r) {
  if (r.reply_text.empty()) return "R=ok";
  return fmt::format("R={} {}", r.result, r.reply_text);
}

void protocol_log_observer::on_command(const command_record& r) {
  metrics_.count_command(r.protocol, r.verb, r.result, r.duration, r.bytes_in, r.bytes_out);
  log_observer().on_command(r);
  if (!log_.enabled(r.protocol)) return;
  write(r, protocol_log_context(r));
}

void protocol_log_observer::on_session(const command_record& r) {
  if (!log_.enabled(r.protocol)) return;
  write(r, r.reply_text);
}

void protocol_log_observer::write(const command_record& r, std::string_view context) {
  auto server = fmt::format("{}:{}", r.local_ip, r.local_port);
  auto client = fmt::format("{}:{}", r.remote_ip, r.remote_port);
  observe::protocol_log_line line;
  line.time = std::chrono::system_clock::now();
  line.session_id = r.session_id;
  line.seq = r.seq;
  line.server = server;
  line.client = client;
  line.user = r.user;
  line.duration_ms = static_cast<uint64_t>(r.duration.count() / 1000);
  line.request_bytes = r.bytes_in;
  line.reply_bytes = r.bytes_out;
  line.command = r.verb;
  line.parameters = r.arguments;
  line.context = context;
  log_.append(r.protocol, observe::format_line(line));
}

}  // namespace postern::session::core
