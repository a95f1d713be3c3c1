#include "session/core/component_check.hpp"

#include <fmt/format.h>

#include "base/strings.hpp"
#include "observe/log.hpp"

namespace postern::session::core {

std::optional<std::string> out_of_service(session_base& s) {
  if (!s.svc.components) return std::nullopt;
  auto state = s.svc.components->state(s.protocol);
  if (state.state == directory::component_state::active) return std::nullopt;
  auto words = directory::out_of_service_words(base::to_upper(s.protocol), state);
  observe::log_limited(fmt::format("{} out of service", s.protocol), observe::level::warning,
                       s.protocol, s.id, "connection from {} refused: {}", s.conn->remote_ip(),
                       words);
  return words;
}

}  // namespace postern::session::core
