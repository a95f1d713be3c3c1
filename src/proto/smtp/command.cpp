#include "proto/smtp/command.hpp"

#include <fmt/format.h>

#include "base/strings.hpp"

namespace postern::proto::smtp {

std::optional<command> parse_command(std::string_view line) {
  auto sp = line.find(' ');
  auto kw = line.substr(0, sp);
  if (kw.empty() || kw.size() > 20) return std::nullopt;
  for (char c : kw)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return std::nullopt;
  command c;
  c.verb = base::to_upper(kw);
  if (sp != std::string_view::npos) c.args = std::string(line.substr(sp + 1));
  return c;
}

namespace {

// RFC 5321 §4.5.3.1: the limits every server must accept; larger objects
// "SHOULD be avoided" and a server may refuse them.
constexpr size_t max_local_part = 64;  // §4.5.3.1.1
constexpr size_t max_domain = 255;     // §4.5.3.1.2
constexpr size_t max_path = 256;       // §4.5.3.1.3, with "<" and ">"
constexpr size_t max_dns_label = 63;   // RFC 1035 §2.3.4
constexpr size_t shown_address = 100;  // bytes of client input quoted in a reply

using problem = std::optional<std::string>;  // nullopt: no problem

bool is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
bool is_let_dig(unsigned char c) { return is_alpha(c) || is_digit(c); }
bool is_hex(unsigned char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

// RFC 5322 §3.2.3 atext, ASCII part.
bool is_atext(unsigned char c) {
  return is_let_dig(c) ||
         (c != 0 && std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) !=
                        std::string_view::npos);
}

// The length of the well-formed UTF-8 sequence at s[i] (RFC 3629 §4: no
// overlong forms, no surrogates, nothing above U+10FFFF), or 0. RFC 6531 §3.3
// admits UTF8-non-ascii (RFC 6532 §3.1) in atext, qtextSMTP and sub-domain.
size_t utf8_length(std::string_view s, size_t i) {
  auto at = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  auto cont = [&](size_t k, unsigned char lo, unsigned char hi) {
    return k < s.size() && at(k) >= lo && at(k) <= hi;
  };
  unsigned char c = at(i);
  if (c >= 0xc2 && c <= 0xdf) return cont(i + 1, 0x80, 0xbf) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    unsigned char lo = c == 0xe0 ? 0xa0 : 0x80;
    unsigned char hi = c == 0xed ? 0x9f : 0xbf;
    return cont(i + 1, lo, hi) && cont(i + 2, 0x80, 0xbf) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    unsigned char lo = c == 0xf0 ? 0x90 : 0x80;
    unsigned char hi = c == 0xf4 ? 0x8f : 0xbf;
    return cont(i + 1, lo, hi) && cont(i + 2, 0x80, 0xbf) && cont(i + 3, 0x80, 0xbf) ? 4 : 0;
  }
  return 0;
}

// "a space", "'('", "the byte \xff": a character named for a reply.
std::string describe(unsigned char c) {
  if (c == ' ') return "a space";
  if (c == '\\') return "a backslash";
  if (c > 0x20 && c < 0x7f && c != '\\') return fmt::format("'{}'", static_cast<char>(c));
  return "the byte " + base::printable(std::string_view(reinterpret_cast<const char*>(&c), 1));
}

// RFC 5321 §4.1.2 Domain: sub-domains of letters, digits and inner hyphens;
// RFC 6531 §3.3 adds U-labels, taken here as any well-formed UTF-8. Label
// lengths apply to ASCII labels only: a U-label's limit is that of its
// A-label, which is not computed here.
problem domain_problem(std::string_view d) {
  if (d.empty()) return "the domain part is empty";
  if (d.size() > max_domain) return fmt::format("the domain is longer than {} octets", max_domain);
  size_t start = 0;
  while (true) {
    auto dot = d.find('.', start);
    auto label = d.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty())
      return "the domain has an empty label (a leading, trailing or doubled "
             "'.')";
    bool ascii = true;
    for (size_t i = 0; i < label.size();) {
      auto c = static_cast<unsigned char>(label[i]);
      if (c >= 0x80) {
        auto n = utf8_length(label, i);
        if (n == 0) return "the domain is not valid UTF-8";
        ascii = false;
        i += n;
      } else if (is_let_dig(c) || c == '-') {
        ++i;
      } else {
        return "the domain contains " + describe(c);
      }
    }
    if (label.front() == '-' || label.back() == '-')
      return "a domain label starts or ends with '-'";
    if (ascii && label.size() > max_dns_label)
      return fmt::format("a domain label is longer than {} octets", max_dns_label);
    if (dot == std::string_view::npos) return std::nullopt;
    start = dot + 1;
  }
}

// RFC 5321 §4.1.3 Snum 3("." Snum), each 0 to 255 in one to three digits.
bool valid_ipv4(std::string_view s) {
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (s.empty() || s.front() != '.') return false;
      s.remove_prefix(1);
    }
    size_t n = 0;
    unsigned value = 0;
    while (n < s.size() && n < 4 && is_digit(static_cast<unsigned char>(s[n])))
      value = value * 10 + static_cast<unsigned>(s[n++] - '0');
    if (n == 0 || n > 3 || value > 255) return false;
    s.remove_prefix(n);
  }
  return s.empty();
}

// Counts colon-separated IPv6-hex groups; -1 if one is malformed. The last
// item may be an IPv4 address when `v4_tail` is set; it counts as none.
int hex_groups(std::string_view s, bool v4_tail, bool& saw_v4) {
  if (s.empty()) return 0;
  int groups = 0;
  while (true) {
    auto colon = s.find(':');
    auto item = s.substr(0, colon);
    if (colon == std::string_view::npos && v4_tail && item.find('.') != std::string_view::npos) {
      if (!valid_ipv4(item)) return -1;
      saw_v4 = true;
      return groups;
    }
    if (item.empty() || item.size() > 4) return -1;
    for (char c : item)
      if (!is_hex(static_cast<unsigned char>(c))) return -1;
    ++groups;
    if (colon == std::string_view::npos) return groups;
    s.remove_prefix(colon + 1);
  }
}

// RFC 5321 §4.1.3 IPv6-addr. As there, "::" stands for at least two groups of
// zeros (also RFC 5952 §4.2.2), so at most six groups (four beside an IPv4
// tail) may appear with it.
bool valid_ipv6(std::string_view s) {
  auto gap = s.find("::");
  bool saw_v4 = false;
  if (gap == std::string_view::npos) {
    int n = hex_groups(s, true, saw_v4);
    return n == (saw_v4 ? 6 : 8);
  }
  auto right = s.substr(gap + 2);
  if (right.find("::") != std::string_view::npos) return false;
  int left_n = hex_groups(s.substr(0, gap), false, saw_v4);
  int right_n = hex_groups(right, true, saw_v4);
  if (left_n < 0 || right_n < 0) return false;
  return left_n + right_n <= (saw_v4 ? 4 : 6);
}

// RFC 5321 §4.1.3 address-literal, brackets included.
problem literal_problem(std::string_view lit) {
  if (lit.size() > max_domain)
    return fmt::format("the address literal is longer than {} octets", max_domain);
  auto close = lit.find(']');
  if (close == std::string_view::npos) return "the address literal has no closing ']'";
  if (close + 1 != lit.size()) return "text follows the address literal's ']'";
  auto inner = lit.substr(1, close - 1);
  if (inner.empty()) return "the address literal is empty";
  if (inner.size() >= 5 && base::iequals(inner.substr(0, 5), "IPv6:")) {
    if (valid_ipv6(inner.substr(5))) return std::nullopt;
    return "the IPv6 address literal is malformed";
  }
  auto colon = inner.find(':');
  if (colon == std::string_view::npos) {
    if (valid_ipv4(inner)) return std::nullopt;
    return "the IPv4 address literal is malformed";
  }
  // General-address-literal = Standardized-tag ":" 1*dcontent, with
  // Standardized-tag = Ldh-str (ending in a letter or digit).
  auto tag = inner.substr(0, colon);
  auto content = inner.substr(colon + 1);
  bool ok = !tag.empty() && is_let_dig(static_cast<unsigned char>(tag.back())) && !content.empty();
  for (char ch : tag) ok = ok && (is_let_dig(static_cast<unsigned char>(ch)) || ch == '-');
  for (char ch : content) {
    auto c = static_cast<unsigned char>(ch);
    ok = ok && c >= 33 && c <= 126 && c != '[' && c != '\\' && c != ']';  // dcontent
  }
  if (ok) return std::nullopt;
  return "the address literal is not IPv4, IPv6:... or tag:value";
}

// The index just past the closing quote of the Quoted-string at s[0], or npos.
size_t quoted_end(std::string_view s) {
  for (size_t i = 1; i < s.size(); ++i) {
    if (s[i] == '\\')
      ++i;
    else if (s[i] == '"')
      return i + 1;
  }
  return std::string_view::npos;
}

// RFC 5321 §4.1.2 Local-part = Dot-string / Quoted-string, extended by
// RFC 6531 §3.3 with UTF-8 in atext and qtextSMTP.
problem local_part_problem(std::string_view local) {
  if (local.empty()) return "the local part before '@' is empty";
  if (local.size() > max_local_part)
    return fmt::format("the local part is longer than {} octets", max_local_part);
  if (local.front() == '"') {
    for (size_t i = 1; i + 1 < local.size();) {
      auto c = static_cast<unsigned char>(local[i]);
      if (c == '\\') {
        // quoted-pairSMTP = %d92 %d32-126: ASCII only, even with SMTPUTF8.
        auto next = static_cast<unsigned char>(local[i + 1]);
        if (next < 32 || next > 126)
          return "in the quoted local part, a backslash may only escape printable ASCII";
        i += 2;
      } else if (c >= 0x80) {
        auto n = utf8_length(local, i);
        if (n == 0) return "the local part is not valid UTF-8";
        i += n;
      } else {
        ++i;  // qtextSMTP: the remaining printable ASCII and space
      }
    }
    return std::nullopt;
  }
  if (local.front() == '.') return "the local part starts with '.'";
  if (local.back() == '.') return "the local part ends with '.'";
  if (local.find("..") != std::string_view::npos) return "the local part has two '.' in a row";
  for (size_t i = 0; i < local.size();) {
    auto c = static_cast<unsigned char>(local[i]);
    if (c >= 0x80) {
      auto n = utf8_length(local, i);
      if (n == 0) return "the local part is not valid UTF-8";
      i += n;
    } else if (is_atext(c) || c == '.') {
      ++i;
    } else {
      return fmt::format("the local part contains {}, which needs quotes", describe(c));
    }
  }
  return std::nullopt;
}

// Mailbox = Local-part "@" ( Domain / address-literal ).
problem mailbox_problem(std::string_view m) {
  size_t at;
  if (!m.empty() && m.front() == '"') {
    at = quoted_end(m);
    if (at == std::string_view::npos) return "the quoted local part has no closing '\"'";
    if (at == m.size()) return "there is no '@' and domain after the local part";
    if (m[at] != '@')
      return fmt::format("the quoted local part is followed by {}, not '@'",
                         describe(static_cast<unsigned char>(m[at])));
  } else {
    at = m.find('@');
    if (at == std::string_view::npos) return "there is no '@' and domain after the local part";
  }
  if (auto p = local_part_problem(m.substr(0, at))) return p;
  auto domain = m.substr(at + 1);
  if (domain.empty() || domain.front() == '@') return "the domain part is empty";
  if (domain.front() == '[') return literal_problem(domain);
  return domain_problem(domain);
}

// A-d-l = At-domain *( "," At-domain ), At-domain = "@" Domain (§4.1.2).
problem route_problem(std::string_view route) {
  while (true) {
    auto comma = route.find(',');
    auto item = route.substr(0, comma);
    if (item.empty() || item.front() != '@')
      return "each domain of the source route needs an '@' before it";
    if (auto p = domain_problem(item.substr(1))) return "in the source route, " + *p;
    if (comma == std::string_view::npos) return std::nullopt;
    route.remove_prefix(comma + 1);
  }
}

// Checks the text between '<' and '>'; sets `mailbox` to it without the route.
problem path_problem(std::string_view inner, bool rcpt, std::string_view& mailbox) {
  for (char ch : inner)
    if (is_control(static_cast<unsigned char>(ch)))
      return "it contains the control character " + base::printable(std::string_view(&ch, 1));
  // §4.1.1.3: "RCPT TO:<Postmaster>" must be accepted, without a domain.
  mailbox = inner;
  if (rcpt && base::iequals(inner, "postmaster")) return std::nullopt;
  if (!inner.empty() && inner.front() == '@') {
    // A source route ends at the first ':', which no Domain contains. §4.1.1.3
    // and Appendix C: a receiver should accept and ignore it.
    auto colon = inner.find(':');
    if (colon == std::string_view::npos) return "the local part before '@' is empty";
    if (auto p = route_problem(inner.substr(0, colon))) return p;
    mailbox = inner.substr(colon + 1);
    if (mailbox.empty()) return "the source route is not followed by a mailbox";
  }
  return mailbox_problem(mailbox);
}

// The index of the '>' that closes the path at s[0] == '<', or npos. A '>'
// inside a quoted local part does not close it; when a quote is left open,
// the first '>' does, and the address check says what is wrong with the quotes.
size_t path_end(std::string_view s) {
  bool quoted = false;
  for (size_t i = 1; i < s.size(); ++i) {
    char c = s[i];
    if (quoted) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        quoted = false;
    } else if (c == '"') {
      quoted = true;
    } else if (c == '>') {
      return i;
    }
  }
  return quoted ? s.find('>') : std::string_view::npos;
}

// Mail-parameters = esmtp-param *(SP esmtp-param) (§4.1.2), with
// esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") and esmtp-value =
// 1*(%d33-60 / %d62-126), plus UTF-8 by RFC 6531 §3.3.
problem param_problem(std::string_view item, std::pair<std::string, std::string>& out) {
  auto eq = item.find('=');
  auto keyword = item.substr(0, eq);
  if (keyword.empty())
    return fmt::format("the parameter {} has no keyword", base::printable(item, 40));
  bool ok = is_let_dig(static_cast<unsigned char>(keyword.front()));
  for (char c : keyword) ok = ok && (is_let_dig(static_cast<unsigned char>(c)) || c == '-');
  if (!ok)
    return fmt::format(
        "the parameter keyword {} must be letters, digits and "
        "'-', starting with a letter or "
        "digit",
        base::printable(keyword, 40));
  std::string_view value;
  if (eq != std::string_view::npos) {
    value = item.substr(eq + 1);
    if (value.empty())
      return fmt::format("the parameter {} has '=' but no value", base::printable(keyword, 40));
    for (size_t i = 0; i < value.size();) {
      auto c = static_cast<unsigned char>(value[i]);
      size_t n = 1;
      if (c >= 0x80)
        n = utf8_length(value, i);
      else if (c < 33 || c > 126 || c == '=')
        n = 0;
      if (n == 0)
        return fmt::format("the value of the parameter {} contains {}",
                           base::printable(keyword, 40), describe(c));
      i += n;
    }
  }
  out = {base::to_upper(keyword), std::string(value)};
  return std::nullopt;
}

// The text after '>': parameters separated by spaces. §4.1.2 asks for one
// SP; more are harmless and tolerated.
problem params_problem(std::string_view rest,
                       std::vector<std::pair<std::string, std::string>>& out) {
  while (true) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (rest.empty()) return std::nullopt;
    auto sp = rest.find(' ');
    std::pair<std::string, std::string> param;
    if (auto why = param_problem(rest.substr(0, sp), param)) return why;
    out.push_back(std::move(param));
    if (sp == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(sp);
  }
}

path_failure fail(path_fault f, std::string message) { return {f, std::move(message)}; }

}  // namespace

std::variant<path_argument, path_failure> parse_path(std::string_view args, std::string_view prefix,
                                                     bool allow_null) {
  auto shown_prefix = base::to_upper(prefix);
  auto a = base::trim(args);
  if (a.size() < prefix.size() || !base::iequals(a.substr(0, prefix.size()), prefix))
    return fail(path_fault::syntax, fmt::format("expected {}<address>", shown_prefix));
  a.remove_prefix(prefix.size());
  // §4.1.1.2 has no space before '<', but many clients send one; it is
  // harmless, so it is allowed.
  while (!a.empty() && a.front() == ' ') a.remove_prefix(1);
  if (a.empty() || a.front() != '<')
    return fail(
        path_fault::syntax,
        fmt::format("the address must be in angle brackets: {}<user@example.com>", shown_prefix));
  auto close = path_end(a);
  if (close == std::string_view::npos)
    return fail(path_fault::syntax, "missing '>' after the address");
  auto rest = a.substr(close + 1);
  if (!rest.empty() && rest.front() != ' ')
    return fail(path_fault::syntax,
                fmt::format("after '>' only parameters may follow, after a space, not {}",
                            base::printable(rest, 40)));

  auto inner = a.substr(1, close - 1);
  auto invalid = [&](std::string_view why) {
    return fail(path_fault::address, fmt::format("the address <{}> is not a valid mailbox: {}",
                                                 base::printable(inner, shown_address), why));
  };
  path_argument p;
  if (inner.empty()) {
    if (!allow_null) return invalid("the null path <> is only allowed in MAIL FROM");
  } else {
    if (close + 1 > max_path)
      return invalid(fmt::format("the path is longer than {} octets", max_path));
    std::string_view mailbox;
    if (auto why = path_problem(inner, base::iequals(prefix, "TO:"), mailbox)) return invalid(*why);
    p.address = std::string(mailbox);
    for (char c : mailbox) p.utf8 = p.utf8 || static_cast<unsigned char>(c) >= 0x80;
  }

  if (auto why = params_problem(rest, p.params)) return fail(path_fault::parameter, *why);
  return p;
}

}  // namespace postern::proto::smtp
