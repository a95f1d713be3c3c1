#include "session/smtp/envelope.hpp"

#include <fmt/format.h>

#include "base/strings.hpp"

namespace postern::session::smtp {

std::string path_failure_reply(const proto::smtp::path_failure& f, bool sender) {
  switch (f.fault) {
    case proto::smtp::path_fault::address:
      return fmt::format("501 {} Bad {} address: {}", sender ? "5.1.7" : "5.1.3",
                         sender ? "sender" : "recipient", f.message);
    case proto::smtp::path_fault::parameter:
      return fmt::format("501 5.5.4 Bad {} parameter: {}", sender ? "MAIL FROM" : "RCPT TO",
                         f.message);
    case proto::smtp::path_fault::syntax:
      break;
  }
  return fmt::format("501 5.5.4 Bad {}: {}", sender ? "MAIL FROM" : "RCPT TO", f.message);
}

std::string apply_mail_parameters(const proto::smtp::path_argument& path, uint64_t max_size,
                                  envelope& env) {
  uint64_t size = 0;
  for (auto& [key, value] : path.params) {
    if (key == "SIZE") {
      auto n = base::parse_u64(value);
      if (!n) return "501 5.5.4 SIZE needs a number of bytes";
      if (*n > max_size)
        return fmt::format(
            "552 5.3.4 Message size {} exceeds the limit of {} bytes (max_message_size)", *n,
            max_size);
      size = *n;
    } else if (key == "BODY") {
      auto v = base::to_upper(value);
      if (v != "7BIT" && v != "8BITMIME") return "501 5.5.4 BODY must be 7BIT or 8BITMIME";
    } else {
      return fmt::format("555 5.5.4 Unsupported MAIL FROM parameter {}", base::printable(key, 30));
    }
  }
  env.sender = path.address;
  env.declared_size = size;
  return "";
}

}  // namespace postern::session::smtp
