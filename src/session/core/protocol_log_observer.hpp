// The per-command observer a node runs with: every command is counted in the
// metrics, becomes one line of its protocol's CSV log (observe/protocol_log.hpp)
// while that log is on (`postern pop3 set protocol_log=on`), and a debug line
// on standard error while the debug level is on.
//
// Threads: called from I/O threads; never blocks (the log only queues).
#pragma once

#include "observe/metrics.hpp"
#include "observe/protocol_log.hpp"
#include "session/core/observer.hpp"

namespace postern::session::core {

class protocol_log_observer final : public command_observer {
 public:
  protocol_log_observer(observe::protocol_log& log, observe::metrics& metrics)
      : log_(log), metrics_(metrics) {}
  bool wanted() const override;
  void on_command(const command_record& r) override;
  void on_session(const command_record& r) override;

 private:
  void write(const command_record& r, std::string_view context);
  observe::protocol_log& log_;
  observe::metrics& metrics_;
};

// The context field: "R=ok", or R="-ERR [IN-USE] ..." with the refusal's
// code and words (which name the setting or limit that caused it).
std::string protocol_log_context(const command_record& r);

}  // namespace postern::session::core
