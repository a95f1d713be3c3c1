#include "session/core/session_base.hpp"

#include <fmt/format.h>

#include "base/strings.hpp"

namespace postern::session::core {

net::awaitable<bool> session_base::flush(bool more) {
  if (out.empty()) co_return !conn->is_closed();
  bool ok = co_await conn->write(out, more);
  out.clear();
  co_return ok;
}

net::awaitable<bool> session_base::flush_if_full() {
  if (out.size() < output_budget) co_return true;
  bool ok = co_await flush();
  co_return ok;
}

void session_base::track() {
  if (!svc.sessions) return;
  session_info info;
  info.id = id;
  info.protocol = std::string(protocol);
  info.remote_ip = conn->remote_ip();
  info.local_port = conn->local_port();
  info.since = std::chrono::system_clock::now();
  std::weak_ptr<net::connection> weak = conn;
  auto ex = conn->executor();
  tracked = svc.sessions->add(
      std::move(info), [weak, ex](std::shared_ptr<session_table::entry> e, std::string reason) {
        net::asio::post(ex, [weak, e, reason = std::move(reason)] {
          e->killed = true;
          e->end_reason = reason;
          if (auto c = weak.lock()) c->interrupt();
        });
      });
}

session_base::~session_base() {
  if (tracked) svc.sessions->remove(id);
  if (!opened_) return;
  auto why = end_reason();
  report_session(why.empty() ? "CloseSession" : "CloseSession; " + why,
                 std::chrono::duration_cast<std::chrono::microseconds>(
                     std::chrono::steady_clock::now() - connected_));
}

void session_base::opened(std::string_view refusal) {
  opened_ = true;
  report_session(refusal.empty() ? std::string("OpenSession")
                                 : fmt::format("OpenSession; R={}", refusal.substr(0, 300)),
                 std::chrono::microseconds(0));
}

void session_base::report_session(std::string_view context, std::chrono::microseconds duration) {
  command_record rec;
  rec.protocol = protocol;
  rec.session_id = id;
  rec.remote_ip = conn->remote_ip();
  rec.user = user.empty() ? std::string_view(login_name) : std::string_view(user);
  rec.result = "";
  rec.reply_text = context;
  rec.bytes_in = conn->bytes_in();
  rec.bytes_out = conn->bytes_out();
  rec.duration = duration;
  rec.seq = 0;
  rec.local_ip = conn->local_ip();
  rec.local_port = conn->local_port();
  rec.remote_port = conn->remote_port();
  observer().on_session(rec);
}

void session_base::command_started(std::string_view verb) {
  ++commands;
  status_text.clear();
  if (!tracked) return;
  tracked->update([&](session_info& i) {
    i.command.assign(verb);
    if (i.tls.empty() && conn->tls_active()) i.tls = conn->tls_description();
  });
}

void session_base::command_done() {
  if (!tracked) return;
  tracked->update([&](session_info& i) {
    i.command.clear();
    if (i.tls.empty() && conn->tls_active()) i.tls = conn->tls_description();
    i.bytes_in = conn->bytes_in();
    i.bytes_out = conn->bytes_out();
  });
}

void session_base::logged_in() {
  if (!tracked) return;
  tracked->update([&](session_info& i) { i.user = user; });
}

command_record session_base::record(std::string_view verb, std::string_view args, uint64_t bytes_in,
                                    uint64_t bytes_out,
                                    std::chrono::steady_clock::time_point started) const {
  command_record rec;
  rec.protocol = protocol;
  rec.session_id = id;
  rec.remote_ip = conn->remote_ip();
  rec.user = user.empty() ? std::string_view(login_name) : std::string_view(user);
  rec.verb = verb;
  rec.arguments = args;
  rec.result = status;
  rec.bytes_in = bytes_in;
  rec.bytes_out = bytes_out;
  rec.duration = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started);
  rec.seq = commands;
  rec.reply_text = status_text;
  rec.local_ip = conn->local_ip();
  rec.local_port = conn->local_port();
  rec.remote_port = conn->remote_port();
  return rec;
}

std::string session_base::who() const {
  if (user.empty()) return conn->remote_ip();
  return fmt::format("{} from {}", base::printable(user, 100), conn->remote_ip());
}

}  // namespace postern::session::core
