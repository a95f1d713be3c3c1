// Protocol settings from `postern pop3 set`: any value is accepted in a normal
// form that validates again unchanged, or refused with a message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "base/network.hpp"
#include "directory/settings_schema.hpp"

namespace dir = postern::directory;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (const char* proto : {"pop3", "lmtp"}) {
    for (auto& spec : dir::settings_for(proto)) {
      auto v = dir::validate_setting(proto, spec.key, in);
      if (v) {
        auto again = dir::validate_setting(proto, spec.key, *v);
        if (!again || *again != *v) std::abort();
      } else if (v.err().message.empty()) {
        std::abort();
      }
    }
  }
  std::vector<postern::base::ip_network> nets;
  std::string bad;
  postern::base::parse_network_list(in, nets, bad);
  for (auto& n : nets) n.contains(in);
  return 0;
}
