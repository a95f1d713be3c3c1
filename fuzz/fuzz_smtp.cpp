// SMTP/LMTP command lines and the DATA dot-decoder: any split of the input
// decodes to the same bytes and stops at the same place. An accepted path
// reads back the same when sent again alone, and a refusal's message holds
// only printable ASCII.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <variant>

#include "proto/smtp/command.hpp"
#include "proto/smtp/dot_decoder.hpp"
#include "session/smtp/dsn_params.hpp"

namespace smtp = postern::proto::smtp;

namespace {

// The DSN parameters (RFC 3461) come out whole and valid, or refused with 501.
void check_dsn(smtp::path_argument p) {
  namespace dsn = postern::session::smtp;
  auto q = p;
  dsn::dsn_mail m;
  auto refused = dsn::take_dsn_mail_params(p, m);
  if (!refused.empty() && !refused.starts_with("501 5.5.4 ")) std::abort();
  if (refused.empty()) {
    for (auto& [k, v] : p.params)
      if (k == "RET" || k == "ENVID") std::abort();
    if (!dsn::valid_xtext(m.envid)) std::abort();
    if (!m.ret.empty() && m.ret != "FULL" && m.ret != "HDRS") std::abort();
  }
  dsn::dsn_rcpt r;
  refused = dsn::take_dsn_rcpt_params(q, r);
  if (!refused.empty() && !refused.starts_with("501 5.5.4 ")) std::abort();
  if (refused.empty())
    for (auto& [k, v] : q.params)
      if (k == "NOTIFY" || k == "ORCPT") std::abort();
}

void check_path(std::string_view args, std::string_view prefix, bool allow_null) {
  auto r = smtp::parse_path(args, prefix, allow_null);
  if (auto* f = std::get_if<smtp::path_failure>(&r)) {
    if (f->message.empty()) std::abort();
    for (char c : f->message)
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f)
        std::abort();
    return;
  }
  auto& p = std::get<smtp::path_argument>(r);
  check_dsn(p);
  if (p.address.size() > 254) std::abort();  // 256 with the brackets
  for (char c : p.address)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) std::abort();
  auto again = smtp::parse_path(std::string(prefix) + "<" + p.address + ">", prefix, allow_null);
  auto* q = std::get_if<smtp::path_argument>(&again);
  if (!q || q->address != p.address || q->utf8 != p.utf8 || !q->params.empty()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto c = smtp::parse_command(in)) {
    check_path(c->args, "FROM:", true);
    check_path(c->args, "TO:", false);
  }
  smtp::dot_decoder whole(1 << 16);
  std::string a;
  size_t used_whole = whole.feed(in, a);

  smtp::dot_decoder parts(1 << 16);
  std::string b;
  size_t used = 0;
  size_t step = size ? 1 + data[0] % 7 : 1;
  while (used < size && !parts.done()) {
    auto chunk = in.substr(used, step);
    used += parts.feed(chunk, b);
  }
  if (a != b || whole.done() != parts.done() || (whole.done() && used_whole != used)) std::abort();
  if (whole.total() < a.size()) std::abort();
  return 0;
}
