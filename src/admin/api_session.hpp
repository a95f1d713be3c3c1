// The admin API: HTTP/1.1 on its own listener (`protocol = "admin"` in
// postern.toml), over the same connections as the mail protocols (deadlines,
// TLS, connection counting), parsed by Boost.Beast.
//
//   GET  /healthz            200 while the process serves (no token)
//   GET  /readyz             200 when every check passes, else 503 (no token)
//   GET  /api                every command with its arguments
//   POST /api/<command>      run a command: /api/user/add {"address": ...}
//
// Everything but the two probes needs `Authorization: Bearer <token>` (the
// token in data_dir/admin.token); without it the answer is 401 and nothing
// changes. Bad input gets 400 with the reason, changing nothing. Every
// request is logged with the requester's address, never with its body.
#pragma once

#include <memory>
#include <string>

#include "net/server.hpp"

namespace postern::admin {

struct node_runtime;

struct api_context {
  node_runtime& node;
  std::string token;
};

net::awaitable<void> run_api_session(api_context& api, std::shared_ptr<net::connection> conn,
                                     const net::listener_spec& listener);

}  // namespace postern::admin
