#include "proto/pop3/arguments.hpp"

#include <fmt/format.h>

#include "base/strings.hpp"
#include "proto/pop3/command.hpp"

namespace postern::proto::pop3 {

namespace {
base::parse_failure bad_number(std::string_view arg) {
  return {fmt::format("Invalid message number '{}': expected a message number from the listing",
                      base::printable(arg, 20))};
}
}  // namespace

base::parsed<message_arg> parse_message_arg(std::string_view args) {
  auto a = base::trim(args);
  if (a.empty()) return base::parse_failure{"A message number is required"};
  auto n = parse_message_number(a);
  if (!n) return bad_number(a);
  return message_arg{*n};
}

base::parsed<optional_message_arg> parse_optional_message_arg(std::string_view args) {
  auto a = base::trim(args);
  if (a.empty()) return optional_message_arg{};
  auto n = parse_message_number(a);
  if (!n) return bad_number(a);
  return optional_message_arg{*n};
}

base::parsed<top_args> parse_top_args(std::string_view args) {
  auto two = split_two(base::trim(args));
  if (!two) return base::parse_failure{"TOP needs a message number and a line count: TOP 1 10"};
  auto n = parse_message_number(two->first);
  if (!n) return bad_number(two->first);
  auto lines = base::parse_u64(two->second);
  if (!lines)
    return base::parse_failure{
        fmt::format("Invalid line count '{}': expected a number of lines, 0 or more",
                    base::printable(two->second, 20))};
  return top_args{*n, *lines};
}

}  // namespace postern::proto::pop3
