#include "proto/sasl/mechanism.hpp"

#include <array>

#include "base/strings.hpp"

namespace postern::proto::sasl {

namespace {

// Base64 of the longest PLAIN message (three fields and two NULs); anything longer is
// refused before decoding.
constexpr size_t max_base64 = 4 * ((3 * max_field + 2 + 2) / 3);

step failure(std::string words) {
  step s;
  s.what = step::kind::failure;
  s.error = std::move(words);
  return s;
}

step challenge(std::string bytes) {
  step s;
  s.what = step::kind::challenge;
  s.challenge = std::move(bytes);
  return s;
}

step check_password(credentials creds) {
  step s;
  s.what = step::kind::check_password;
  s.creds = std::move(creds);
  return s;
}

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

// RFC 4648 §4 strictly: whole quanta, the alphabet only, "=" only as the last one or two
// characters. base::base64_decode alone would accept "=" anywhere (OpenSSL reads it as 0).
bool strict_base64(std::string_view s) {
  if (s.size() % 4 != 0) return false;
  size_t pad = 0;
  while (pad < s.size() && s[s.size() - 1 - pad] == '=') ++pad;
  if (pad > 2) return false;
  for (size_t i = 0; i + pad < s.size(); ++i)
    if (!is_base64_char(s[i])) return false;
  return true;
}

// Decodes `text`, or sets `error` to words naming `what`.
std::optional<std::string> decode(std::string_view text, std::string_view what,
                                  std::string& error) {
  if (text.size() > max_base64) {
    error = std::string(what) + " is too long";
    return std::nullopt;
  }
  std::optional<std::string> raw;
  if (strict_base64(text)) raw = base::base64_decode(text);
  if (!raw) error = std::string(what) + " is not valid base64 (RFC 4648)";
  return raw;
}

// Words for a field that breaks the rules in the header, empty when it is fine.
std::string check_field(std::string_view value, std::string_view what, bool may_be_empty) {
  if (value.find('\0') != std::string_view::npos) return std::string(what) + " contains a NUL byte";
  if (value.size() > max_field)
    return std::string(what) + " is longer than " + std::to_string(max_field) + " bytes";
  if (value.empty() && !may_be_empty) return std::string(what) + " is empty";
  return {};
}

step out_of_order(std::string_view mech) {
  return failure("SASL " + std::string(mech) + " exchange out of order");
}

// RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd. One step: the
// initial response, or the reply to an empty challenge when there was none.
class plain_mechanism final : public mechanism {
 public:
  std::string_view name() const override { return "PLAIN"; }

  step start(std::optional<std::string_view> initial) override {
    if (state_ != state::fresh) return out_of_order(name());
    if (!initial) {
      state_ = state::waiting;
      return challenge("");  // RFC 4422 §5: the server sends an empty challenge
    }
    state_ = state::done;
    return decode_message(*initial);
  }

  step next(std::string_view response) override {
    if (state_ != state::waiting) return out_of_order(name());
    state_ = state::done;
    return decode_message(response);
  }

 private:
  enum class state { fresh, waiting, done };

  static step decode_message(std::string_view text) {
    std::string error;
    auto raw = decode(text, "SASL PLAIN response", error);
    if (!raw) return failure(error);
    auto first = raw->find('\0');
    auto second = first == std::string::npos ? first : raw->find('\0', first + 1);
    if (second == std::string::npos)
      return failure(
          "malformed SASL PLAIN response (RFC 4616: base64 of authzid NUL user NUL password)");
    credentials c;
    c.authzid = raw->substr(0, first);
    c.authcid = raw->substr(first + 1, second - first - 1);
    c.password = raw->substr(second + 1);  // a third NUL stays here and is refused below
    auto why = check_field(c.authzid, "SASL PLAIN authorization identity", true);
    if (why.empty()) why = check_field(c.authcid, "SASL PLAIN user name", false);
    if (why.empty()) why = check_field(c.password, "SASL PLAIN password", false);
    if (!why.empty()) return failure(why);
    return check_password(std::move(c));
  }

  state state_ = state::fresh;
};

// draft-murchison-sasl-login §2: "Username:" then "Password:", each answered with the
// base64 of that field. Clients that send an initial response send the user name.
class login_mechanism final : public mechanism {
 public:
  std::string_view name() const override { return "LOGIN"; }

  step start(std::optional<std::string_view> initial) override {
    if (state_ != state::fresh) return out_of_order(name());
    // An empty initial response ("=") names no user; ask as if there were none.
    if (!initial || initial->empty()) {
      state_ = state::want_user;
      return challenge("Username:");
    }
    return take_user(*initial);
  }

  step next(std::string_view response) override {
    switch (state_) {
      case state::want_user:
        return take_user(response);
      case state::want_password:
        return take_password(response);
      default:
        return out_of_order(name());
    }
  }

 private:
  enum class state { fresh, want_user, want_password, done };

  step take_user(std::string_view text) {
    state_ = state::done;
    std::string error;
    auto user = decode(text, "SASL LOGIN user name", error);
    if (!user) return failure(error);
    auto why = check_field(*user, "SASL LOGIN user name", false);
    if (!why.empty()) return failure(why);
    user_ = std::move(*user);
    state_ = state::want_password;
    return challenge("Password:");
  }

  step take_password(std::string_view text) {
    state_ = state::done;
    std::string error;
    auto password = decode(text, "SASL LOGIN password", error);
    if (!password) return failure(error);
    auto why = check_field(*password, "SASL LOGIN password", false);
    if (!why.empty()) return failure(why);
    credentials c;
    c.authcid = std::move(user_);
    c.password = std::move(*password);
    return check_password(std::move(c));
  }

  state state_ = state::fresh;
  std::string user_;
};

constexpr std::array<std::string_view, 2> supported = {"PLAIN", "LOGIN"};

}  // namespace

std::unique_ptr<mechanism> make_mechanism(std::string_view name) {
  if (base::iequals(name, "PLAIN")) return std::make_unique<plain_mechanism>();
  if (base::iequals(name, "LOGIN")) return std::make_unique<login_mechanism>();
  return nullptr;
}

std::span<const std::string_view> supported_mechanisms() { return supported; }

}  // namespace postern::proto::sasl
