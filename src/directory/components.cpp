#include "directory/components.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>

#include "base/strings.hpp"

namespace postern::directory {

namespace {

template <size_t N>
bool known(const std::string_view (&names)[N], std::string_view word) {
  return std::find(std::begin(names), std::end(names), word) != std::end(names);
}

}  // namespace

std::string_view state_name(component_state s) {
  return component_state_names[static_cast<int>(s)];
}

std::optional<component_state> parse_component_state(std::string_view text) {
  for (size_t i = 0; i < std::size(component_state_names); ++i)
    if (component_state_names[i] == text) return static_cast<component_state>(i);
  return std::nullopt;
}

base::status validate_component(std::string_view c) {
  if (known(component_names, c)) return base::ok_status();
  return base::error{base::errc::invalid_argument,
                     fmt::format("'{}' is not a component ({})", base::printable(c, 40),
                                 fmt::join(component_names, ", ")),
                     ""};
}

base::status validate_requester(std::string_view r) {
  if (known(requester_names, r)) return base::ok_status();
  return base::error{base::errc::invalid_argument,
                     fmt::format("'{}' is not a requester ({})", base::printable(r, 40),
                                 fmt::join(requester_names, ", ")),
                     ""};
}

effective_state state_of(std::span<const component_record> records, std::string_view component) {
  effective_state out;
  for (auto& r : records) {
    if (r.component != component && r.component != "serverwide") continue;
    if (r.state == component_state::active) continue;
    bool stronger =
        out.state == component_state::active ||
        (r.state == component_state::inactive && out.state == component_state::draining);
    if (stronger) {
      out.state = r.state;
      out.because = r;
    }
  }
  return out;
}

std::string out_of_service_words(std::string_view protocol_label, const effective_state& s) {
  if (!s.because) return fmt::format("{} is in service", protocol_label);
  auto& r = *s.because;
  auto when = std::chrono::floor<std::chrono::seconds>(
      std::chrono::system_clock::time_point(std::chrono::seconds(r.since)));
  auto words = fmt::format(
      "{} is out of service: {} set {} {} at {:%Y-%m-%dT%H:%M:%S}Z", protocol_label, r.requester,
      r.component == "serverwide" ? "the whole server" : "it", state_name(r.state), when);
  if (!r.reason.empty()) words += fmt::format(" ({})", base::printable(r.reason, 200));
  return words;
}

}  // namespace postern::directory
