// The result of parsing a command's arguments: a typed value, or the words
// for the client's syntax-error reply (a parse error, never a domain error).
#pragma once

#include <string>
#include <variant>

namespace postern::base {

struct parse_failure {
  std::string words;
};

template <class T>
using parsed = std::variant<T, parse_failure>;

}  // namespace postern::base
