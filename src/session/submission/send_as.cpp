#include "session/submission/send_as.hpp"

#include <fmt/format.h>

#include "base/strings.hpp"

namespace postern::session::submission {

send_as_verdict may_send_as(directory::directory& dir, std::string_view user,
                            std::string_view sender) {
  send_as_verdict v;
  if (sender.empty()) {
    v.words =
        fmt::format("<{}> may not send with the null sender <>: it is for bounces only", user);
    return v;
  }
  if (base::iequals(base::normalize_address(sender), base::normalize_address(user))) {
    v.allowed = true;
    return v;
  }
  auto grant = dir.send_grant(user, sender);
  if (!grant) {
    v.temporary = true;
    v.words = fmt::format("cannot check whether <{}> may send as <{}>: {}", user,
                          base::printable(sender, 200), grant.err().message);
    return v;
  }
  if (*grant == "alias" || *grant == "send_as") {
    v.allowed = true;
  } else if (*grant == "send_on_behalf") {
    v.allowed = true;
    v.on_behalf = true;
  } else {
    v.words = fmt::format(
        "<{}> may not send as <{}>: no send-as grant (postern user grant {} --send-as {})", user,
        base::printable(sender, 200), user, base::printable(sender, 200));
  }
  return v;
}

}  // namespace postern::session::submission
