#include "base/network.hpp"

#include <arpa/inet.h>

#include <cstring>

#include "base/strings.hpp"

namespace postern::base {

namespace {
std::optional<std::array<uint8_t, 16>> parse_ip(std::string_view text, bool& v4) {
  std::string s(text);
  std::array<uint8_t, 16> out{};
  in_addr a4;
  if (::inet_pton(AF_INET, s.c_str(), &a4) == 1) {
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, &a4, 4);
    v4 = true;
    return out;
  }
  in6_addr a6;
  if (::inet_pton(AF_INET6, s.c_str(), &a6) == 1) {
    std::memcpy(out.data(), &a6, 16);
    v4 = false;
    return out;
  }
  return std::nullopt;
}
}  // namespace

bool ip_network::contains(std::string_view ip) const {
  bool v4 = false;
  auto a = parse_ip(ip, v4);
  if (!a) return false;
  int bits = prefix;
  for (int i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((address[i] & mask) != ((*a)[i] & mask)) return false;
  }
  return true;
}

std::optional<ip_network> parse_network(std::string_view text) {
  text = trim(text);
  ip_network n;
  n.text = std::string(text);
  auto slash = text.find('/');
  bool v4 = false;
  auto a = parse_ip(text.substr(0, slash), v4);
  if (!a) return std::nullopt;
  n.address = *a;
  int max = v4 ? 32 : 128;
  int prefix = max;
  if (slash != std::string_view::npos) {
    auto p = parse_u64(text.substr(slash + 1));
    if (!p || *p > static_cast<uint64_t>(max)) return std::nullopt;
    prefix = static_cast<int>(*p);
  }
  n.prefix = v4 ? prefix + 96 : prefix;
  return n;
}

bool parse_network_list(std::string_view text, std::vector<ip_network>& out, std::string& bad) {
  out.clear();
  size_t i = 0;
  while (i < text.size()) {
    auto j = text.find_first_of(", ", i);
    if (j == std::string_view::npos) j = text.size();
    auto item = text.substr(i, j - i);
    if (!item.empty()) {
      auto n = parse_network(item);
      if (!n) {
        bad = std::string(item);
        return false;
      }
      out.push_back(*n);
    }
    i = j + 1;
  }
  return true;
}

}  // namespace postern::base
