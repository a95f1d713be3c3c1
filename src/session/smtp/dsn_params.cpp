#include "session/smtp/dsn_params.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "base/strings.hpp"

namespace postern::session::smtp {

namespace {

bool is_hex_upper(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); }

// Removes every parameter named `key`; the last value wins, and a repeat is
// refused by the caller seeing `count` > 1.
std::optional<std::string> take(proto::smtp::path_argument& path, std::string_view key,
                                size_t& count) {
  std::optional<std::string> value;
  count = 0;
  std::erase_if(path.params, [&](auto& p) {
    if (p.first != key) return false;
    value = p.second;
    ++count;
    return true;
  });
  return value;
}

}  // namespace

bool valid_xtext(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '+') {
      if (i + 2 >= s.size() || !is_hex_upper(s[i + 1]) || !is_hex_upper(s[i + 2])) return false;
      i += 2;
    } else if (c < 33 || c > 126 || c == '=') {
      return false;
    }
  }
  return true;
}

std::string take_dsn_mail_params(proto::smtp::path_argument& path, dsn_mail& out) {
  size_t n = 0;
  if (auto ret = take(path, "RET", n)) {
    auto v = base::to_upper(*ret);
    if (n > 1 || (v != "FULL" && v != "HDRS"))
      return "501 5.5.4 RET must be given once, as FULL or HDRS (RFC 3461 §4.3)";
    out.ret = v;
  }
  if (auto envid = take(path, "ENVID", n)) {
    if (n > 1 || envid->empty() || envid->size() > 100 || !valid_xtext(*envid))
      return "501 5.5.4 ENVID must be given once, as xtext of at most 100 characters (RFC 3461 "
             "§4.4)";
    out.envid = *envid;
  }
  return "";
}

std::string take_dsn_rcpt_params(proto::smtp::path_argument& path, dsn_rcpt& out) {
  size_t n = 0;
  if (auto notify = take(path, "NOTIFY", n)) {
    auto v = base::to_upper(*notify);
    auto words = base::split(v, ',');
    bool ok = n == 1 && !words.empty();
    bool never = std::find(words.begin(), words.end(), "NEVER") != words.end();
    for (auto& w : words)
      ok = ok && (w == "NEVER" || w == "SUCCESS" || w == "FAILURE" || w == "DELAY");
    if (!ok || (never && words.size() > 1))
      return "501 5.5.4 NOTIFY must be NEVER, or a list of SUCCESS, FAILURE and DELAY (RFC 3461 "
             "§4.1)";
    out.notify = v;
  }
  if (auto orcpt = take(path, "ORCPT", n)) {
    auto semi = orcpt->find(';');
    if (n > 1 || semi == std::string::npos || semi == 0 || orcpt->size() > 500 ||
        !valid_xtext(std::string_view(*orcpt).substr(semi + 1)))
      return "501 5.5.4 ORCPT must be given once, as addr-type;xtext (RFC 3461 §4.2)";
    out.orcpt = *orcpt;
  }
  return "";
}

}  // namespace postern::session::smtp
