// The admin API's JSON: a request body is an object of a command's arguments
// ({"address": "joe@example.com", "quota_storage": "2G"}; values are strings,
// booleans, whole numbers or arrays of strings); a reply is
//   {"ok": true, "lines": ["..."], "items": [{"column": "value", ...}, ...]}
//   {"ok": false, "status": 400, "error": "what is wrong, in words"}
// Boost.JSON stays inside json_codec.cpp.
#pragma once

#include <string>
#include <string_view>

#include "admin/command_registry.hpp"
#include "base/error.hpp"

namespace postern::admin {

// invalid_argument with the reason (not JSON, not an object, a value of the
// wrong type, nesting) for a body that is not a command's arguments. An
// empty body is no arguments.
base::result<arguments> arguments_from_json(std::string_view body);
std::string arguments_to_json(const arguments& a);

std::string reply_to_json(const command_reply& r);
// The reply a node sent; invalid_argument when the body is not one.
base::result<command_reply> reply_from_json(std::string_view body, int http_status);

// GET /api: every command with its arguments, for scripts that discover them.
std::string commands_to_json();

}  // namespace postern::admin
