#include "observe/service_manager.hpp"

#include <fmt/format.h>
#include <systemd/sd-daemon.h>

#include <string>

namespace postern::observe {

namespace {
// STATUS= is one line of text (systemctl status shows it).
std::string status_line(std::string_view status) {
  std::string out;
  for (char c : status) out += (c == '\n' || c == '\r') ? ' ' : c;
  return out;
}
}  // namespace

void notify_ready(std::string_view status) {
  ::sd_notify(0, fmt::format("READY=1\nSTATUS={}", status_line(status)).c_str());
}

void notify_reloading() { ::sd_notify(0, "RELOADING=1\nSTATUS=reloading certificates"); }

void notify_stopping(std::string_view status) {
  ::sd_notify(0, fmt::format("STOPPING=1\nSTATUS={}", status_line(status)).c_str());
}

}  // namespace postern::observe
