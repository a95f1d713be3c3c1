// IPv4/IPv6 networks in CIDR notation, for settings such as secure_networks.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern::base {

struct ip_network {
  std::array<uint8_t, 16> address{};  // IPv4 stored as IPv4-mapped IPv6
  int prefix = 128;                   // in IPv6 bits
  std::string text;                   // as written by the administrator

  bool contains(std::string_view ip) const;
};

// "10.0.0.0/8", "::1", "192.168.1.7" (a host). nullopt when malformed.
std::optional<ip_network> parse_network(std::string_view text);
// Comma- or space-separated list; error names the bad entry.
bool parse_network_list(std::string_view text, std::vector<ip_network>& out, std::string& bad);

}  // namespace postern::base
