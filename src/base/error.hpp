// Domain errors shared by store, directory and policy. Protocols map them to
// their own response codes in one error_map file each; no protocol owns them.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace postern::base {

enum class errc {
  not_found,         // the user, folder or message does not exist
  already_exists,    // creating something that is there
  invalid_argument,  // a value the caller supplied is malformed
  limit_exceeded,    // a configured limit refused the request
  temporary,         // retrying later may succeed (disk full, lock busy)
  corrupt,           // stored data failed a consistency check
  io_error,          // the operating system refused a read or write
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
