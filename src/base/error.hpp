// Domain errors shared by store, directory and policy. Protocols map them to
// their own response codes in one error_map file each; no protocol owns them.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace postern::base {

// Rich enough for every protocol's codes: RFC 5530 (IMAP), RFC 3206 (POP3)
// and RFC 3463 (SMTP enhanced status codes). Each protocol maps them in its
// error_map.cpp.
enum class errc {
  not_found,              // the user, folder or message does not exist (NONEXISTENT)
  already_exists,         // creating something that is there (ALREADYEXISTS)
  invalid_argument,       // a value the caller supplied is malformed (CLIENTBUG)
  limit_exceeded,         // a configured limit refused the request (LIMIT)
  temporary,              // retrying later may succeed: a lock is busy (UNAVAILABLE)
  corrupt,                // stored data failed a consistency check (CORRUPTION)
  io_error,               // the operating system refused a read or write (SERVERBUG)
  disk_full,              // no space left for the store (SMTP 4.3.1)
  over_quota,             // the user's quota refuses it (OVERQUOTA, SMTP 5.2.2)
  too_big,                // a message over the size limit (TOOBIG, SMTP 5.3.4)
  in_use,                 // held by another session (INUSE)
  no_permission,          // the user may not do this (NOPERM, SMTP 5.7.1)
  authentication_failed,  // wrong name or password (AUTHENTICATIONFAILED)
  authorization_failed,   // authenticated, but may not act as that identity
  privacy_required,       // needs TLS first (PRIVACYREQUIRED)
  expunge_issued,         // the message was expunged meanwhile (EXPUNGEISSUED)
  cannot,                 // can never be done, e.g. a forbidden name (CANNOT)
  unavailable,            // the service or user is not available now (UNAVAILABLE)
};

const char* errc_name(errc code);

struct error {
  errc code;
  std::string message;  // for the client or operator: what happened, in words
  std::string detail;   // for the log: file, key, errno text
};

// A value or an error. Expected failures travel as values, never as exceptions.
template <class T>
class result {
 public:
  result(T value) : v_(std::move(value)) {}
  result(error e) : v_(std::move(e)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const error& err() const { return std::get<1>(v_); }

 private:
  std::variant<T, error> v_;
};

struct ok_t {};
using status = result<ok_t>;
inline status ok_status() { return ok_t{}; }

}  // namespace postern::base
