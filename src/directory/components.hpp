// Component states (Exchange's Set-ServerComponentState, without its traps):
// each requester keeps its own state per component; a component serves only
// while no requester holds it inactive or draining, and `serverwide` counts
// for every component. Only the requester that set a state can clear it
// (setting `active` removes that requester's row), and the rows live in the
// directory, so they survive restarts and every tool sees who set what, when
// and why (seed 003's proxy set inactive by a health requester nobody saw).
//
//   inactive: new connections get a greeting that says so and close; open
//             sessions end within the protocol's drain_timeout.
//   draining: new connections are refused the same way; open sessions go on.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"

namespace postern::directory {

inline constexpr std::string_view component_names[] = {
    "serverwide", "pop3", "imap", "lmtp", "submission", "pop3proxy", "imapproxy"};
inline constexpr std::string_view requester_names[] = {"admin", "maintenance", "health",
                                                       "deployment"};
inline constexpr std::string_view component_state_names[] = {"active", "inactive", "draining"};

enum class component_state { active, inactive, draining };

struct component_record {
  std::string component;
  std::string requester;
  component_state state = component_state::inactive;
  std::string reason;
  int64_t since = 0;  // Unix seconds
};

std::string_view state_name(component_state s);
std::optional<component_state> parse_component_state(std::string_view text);

// invalid_argument naming the word and what is allowed.
base::status validate_component(std::string_view component);
base::status validate_requester(std::string_view requester);

// The state that holds for `component`, and the record that decides it
// (inactive wins over draining; serverwide counts for every component).
struct effective_state {
  component_state state = component_state::active;
  std::optional<component_record> because;
};
effective_state state_of(std::span<const component_record> records, std::string_view component);

// "POP3 is out of service: maintenance set it inactive at 2026-12-06T11:00:00Z
// (disk replacement)": what a refused client and the log are told.
std::string out_of_service_words(std::string_view protocol_label, const effective_state& s);

}  // namespace postern::directory
