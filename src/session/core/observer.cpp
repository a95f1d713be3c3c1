#include "session/core/observer.hpp"

#include "base/strings.hpp"
#include "observe/log.hpp"

namespace postern::session::core {

namespace {

class logging_observer final : public command_observer {
 public:
  bool wanted() const override { return observe::enabled(observe::level::debug); }
  void on_command(const command_record& r) override {
    if (!wanted()) return;
    observe::log(observe::level::debug, r.protocol, r.session_id,
                 "{} {} -> {} ({} bytes in, {} out, {} us) {}", r.verb, r.arguments, r.result,
                 r.bytes_in, r.bytes_out, r.duration.count(),
                 r.user.empty() ? std::string(r.remote_ip) : base::printable(r.user, 100));
  }
};

}  // namespace

command_observer& log_observer() {
  static logging_observer o;
  return o;
}

std::string loggable_arguments(std::string_view args, secret mask) {
  if (mask == secret::none) return base::printable(args, 100);
  if (args.empty()) return {};
  if (mask == secret::all) return "*****";
  auto sp = args.find(' ');
  if (sp == std::string_view::npos) return base::printable(args, 30);
  return base::printable(args.substr(0, sp), 30) + " *****";
}

}  // namespace postern::session::core
