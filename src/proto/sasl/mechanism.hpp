// SASL mechanisms as state machines (RFC 4422), shared by POP3 (RFC 5034), IMAP
// (RFC 9051 §6.2.2) and SMTP submission (RFC 4954): PLAIN (RFC 4616) and LOGIN
// (draft-murchison-sasl-login). Pure: no I/O, no directory access.
//
// Contract:
// - Ownership: make_mechanism returns a fresh object for one exchange; the caller owns it
//   and drops it when the exchange ends. Steps are values; nothing points into them.
// - Resumability: call start() once, then next() once per client line while the last
//   step was `challenge`. The exchange is over after check_password or failure; calls out
//   of that order return failure and never crash.
// - Wire format stays with the protocol layer: `initial` and `response` are the base64
//   text as the client sent it (POP3/IMAP "=" already turned into ""; a "*" cancel
//   handled by the caller, RFC 4422 §3.5); `challenge` is raw bytes for the caller to
//   base64-encode and frame ("+ " for POP3/IMAP, "334 " for SMTP).
// - Errors: a failure step with words for the client; no exceptions. Base64 is checked
//   strictly (RFC 4648 §4 alphabet, padding only at the end). Fields hold no NUL and at
//   most max_field bytes; the authcid and the password must not be empty (RFC 4616 §2:
//   1*SAFE). They are not checked for UTF-8, so passwords set elsewhere in another
//   charset still reach the directory, which decides.
// - Policy stays with the caller: whether an authzid other than the authcid may be used,
//   whether plaintext mechanisms are allowed without TLS, the pause after a failure.
// - Not thread-safe; one exchange per object.
//
// Later mechanisms, and how they fit (two kinds and one virtual are added; nothing here
// changes meaning, so PLAIN and LOGIN callers and their tests stay as they are, and the
// one shared SASL driver of the pre-login engine gains two branches):
// - SCRAM-SHA-256 (RFC 5802, RFC 7677). start() parses client-first-message and returns a
//   new kind `lookup` with creds.authcid (and authzid) set: the caller fetches the user's
//   stored SCRAM secret (iteration count, salt, StoredKey, ServerKey, kept by the
//   directory in its {SCHEME} form) off the I/O thread and passes it to a new virtual
//   `step resume(std::optional<std::string_view> stored_secret)` (nullopt for an unknown
//   user: the mechanism goes on with a dummy secret, so a wrong user costs what a wrong
//   password does). resume() returns the server-first-message as a `challenge`; next()
//   gets client-final-message, verifies ClientProof itself and returns a new kind
//   `verified` whose `challenge` holds server-final-message ("v=...", sent as additional
//   data with success, RFC 4422 §5) or `failure`. The mechanism's base class gets a
//   default resume() that returns failure, so PLAIN and LOGIN are untouched.
// - EXTERNAL (RFC 4422 Appendix A). The identity comes from the TLS client certificate,
//   so make_mechanism gains an overload taking a context (peer certificate identity, and
//   the tls-server-end-point / tls-exporter channel binding for SCRAM-SHA-256-PLUS).
//   start() returns `verified` with creds.authcid = the certificate's identity and
//   creds.authzid = what the client asked for, or failure when there is no certificate.
// A caller must treat a kind it does not know as failure, so it can never log anyone in
// by mistake.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace postern::proto::sasl {

// Longest authzid, authcid or password accepted (RFC 4616 §2 asks for at least 255).
inline constexpr size_t max_field = 1024;

struct credentials {
  std::string authzid;  // empty: act as authcid
  std::string authcid;
  std::string password;
};

struct step {
  enum class kind {
    // Send `challenge` (raw bytes; the protocol layer base64-encodes and frames it) and
    // call next() with the client's reply.
    challenge,
    // The mechanism has the credentials; the caller verifies authcid/password against the
    // directory and decides.
    check_password,
    // Malformed exchange: `error` holds words for the client.
    failure,
  } what = kind::failure;
  std::string challenge;
  credentials creds;
  std::string error;
};

class mechanism {
 public:
  virtual ~mechanism() = default;
  // Upper-case IANA name ("PLAIN").
  virtual std::string_view name() const = 0;
  // initial: the initial response as the client sent it (base64 text), nullopt when none;
  // the protocol layer turns POP3/IMAP "=" into an empty string before calling.
  virtual step start(std::optional<std::string_view> initial) = 0;
  // response: one client line as sent (base64 text). A "*" cancel is handled by the
  // caller, never passed here.
  virtual step next(std::string_view response) = 0;
};

// Case-insensitive name; nullptr when unsupported.
std::unique_ptr<mechanism> make_mechanism(std::string_view name);

// {"PLAIN", "LOGIN"}: what CAPA / CAPABILITY / EHLO list.
std::span<const std::string_view> supported_mechanisms();

}  // namespace postern::proto::sasl
