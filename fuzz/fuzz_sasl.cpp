// SASL mechanisms: no crash on any exchange, every step is one of the kinds, nothing is
// accepted after the exchange ends, and PLAIN/LOGIN round-trip an encoded credentials
// triple (or refuse it exactly when a field breaks the rules).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/strings.hpp"
#include "proto/sasl/mechanism.hpp"

namespace sasl = postern::proto::sasl;
using kind = sasl::step::kind;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void check_step(const sasl::step& s) {
  switch (s.what) {
    case kind::challenge:
      check(s.challenge.empty() || s.challenge == "Username:" || s.challenge == "Password:");
      break;
    case kind::check_password:
      check(!s.creds.authcid.empty() && !s.creds.password.empty());
      for (const auto* f : {&s.creds.authzid, &s.creds.authcid, &s.creds.password})
        check(f->size() <= sasl::max_field && f->find('\0') == std::string::npos);
      break;
    case kind::failure:
      check(!s.error.empty());
      break;
    default:
      std::abort();
  }
}

// Any exchange: the first line as the initial response (or none), then the others.
void exchange(std::string_view mech, std::string_view in, bool with_initial) {
  std::vector<std::string_view> lines;
  for (size_t i = 0; i <= in.size() && lines.size() < 16;) {
    size_t nl = in.find('\n', i);
    if (nl == std::string_view::npos) nl = in.size();
    lines.push_back(in.substr(i, nl - i));
    i = nl + 1;
  }
  auto m = sasl::make_mechanism(mech);
  check(m != nullptr && m->name() == mech);
  size_t next = 0;
  std::optional<std::string_view> initial;
  if (with_initial) initial = lines[next++];
  auto s = m->start(initial);
  check_step(s);
  bool over = s.what != kind::challenge;
  while (next < lines.size()) {
    s = m->next(lines[next++]);
    check_step(s);
    if (over) check(s.what == kind::failure);
    over = over || s.what != kind::challenge;
  }
}

bool field_ok(const std::string& f, bool may_be_empty) {
  return f.size() <= sasl::max_field && f.find('\0') == std::string::npos &&
         (may_be_empty || !f.empty());
}

void round_trip(std::string_view in) {
  if (in.size() < 2) return;
  size_t la = static_cast<uint8_t>(in[0]) * 5u, lb = static_cast<uint8_t>(in[1]) * 5u;
  auto rest = in.substr(2);
  auto cut = [&](size_t n) {
    auto f = std::string(rest.substr(0, n));
    rest.remove_prefix(f.size());
    return f;
  };
  std::string authzid = cut(la), authcid = cut(lb), password(rest);
  bool valid = field_ok(authzid, true) && field_ok(authcid, false) && field_ok(password, false);
  auto encoded = postern::base::base64_encode(authzid + '\0' + authcid + '\0' + password);

  auto expect = [&](const sasl::step& s, const std::string& zid) {
    check_step(s);
    check(s.what == (valid ? kind::check_password : kind::failure));
    if (valid)
      check(s.creds.authzid == zid && s.creds.authcid == authcid && s.creds.password == password);
  };
  expect(sasl::make_mechanism("PLAIN")->start(encoded), authzid);
  auto later = sasl::make_mechanism("plain");
  check(later->start(std::nullopt).what == kind::challenge);
  expect(later->next(encoded), authzid);

  // LOGIN carries no authzid. Asked for the user name, or given it as the initial
  // response (not when empty: "=" means no user name yet, so LOGIN asks).
  valid = field_ok(authcid, false) && field_ok(password, false);
  for (bool with_initial : {false, true}) {
    if (with_initial && authcid.empty()) continue;
    auto login = sasl::make_mechanism("LOGIN");
    auto s = login->start(std::nullopt);
    if (with_initial) {
      s = login->start(postern::base::base64_encode(authcid));
      check(s.what == kind::failure);  // a second start() is out of order
      login = sasl::make_mechanism("LOGIN");
      s = login->start(postern::base::base64_encode(authcid));
    } else {
      check(s.what == kind::challenge && s.challenge == "Username:");
      s = login->next(postern::base::base64_encode(authcid));
    }
    check_step(s);
    if (s.what == kind::challenge) s = login->next(postern::base::base64_encode(password));
    expect(s, "");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  for (auto mech : sasl::supported_mechanisms()) exchange(mech, in, data[0] & 1);
  round_trip(in);
  return 0;
}
