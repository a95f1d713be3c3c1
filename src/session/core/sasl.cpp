#include "session/core/sasl.hpp"

#include <fmt/format.h>

#include "base/strings.hpp"

namespace postern::session::core {

std::string sasl_mechanism_list() {
  std::string out;
  for (auto m : proto::sasl::supported_mechanisms()) {
    if (!out.empty()) out += ' ';
    out += m;
  }
  return out;
}

net::awaitable<sasl_outcome> run_sasl(session_base& s, std::string_view mechanism,
                                      std::optional<std::string_view> initial,
                                      std::string_view challenge_prefix) {
  sasl_outcome out;
  auto mech = proto::sasl::make_mechanism(mechanism);
  if (!mech) {
    out.what = sasl_outcome::kind::unsupported;
    out.words = fmt::format("Unsupported SASL mechanism {} (supported: {})",
                            base::printable(mechanism, 20), sasl_mechanism_list());
    co_return out;
  }
  auto step = mech->start(initial);
  std::string line;
  for (;;) {
    if (step.what == proto::sasl::step::kind::check_password) {
      out.what = sasl_outcome::kind::password;
      out.creds = std::move(step.creds);
      co_return out;
    }
    if (step.what != proto::sasl::step::kind::challenge) {
      out.what = sasl_outcome::kind::malformed;
      out.words = step.error;
      co_return out;
    }
    s.out += challenge_prefix;
    s.out += base::base64_encode(step.challenge);
    s.out += "\r\n";
    bool sent = co_await s.flush();
    if (!sent) co_return out;
    auto st = co_await s.conn->read_line(line, max_sasl_line);
    if (st == net::read_status::too_long) {
      out.what = sasl_outcome::kind::malformed;
      out.words = fmt::format("SASL response too long (over {} bytes)", max_sasl_line);
      co_return out;
    }
    if (st != net::read_status::ok) co_return out;
    if (line == "*") {
      out.what = sasl_outcome::kind::cancelled;
      co_return out;
    }
    step = mech->next(line);
  }
}

}  // namespace postern::session::core
