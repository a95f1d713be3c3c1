// `postern queue list [--sender A] [--recipient A]`, `queue show ID`,
// `queue flush [ID]` and `queue delete ID`: the outbound queue, read from the
// running node or, when none answers, from the data folder.
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <ctime>

#include "admin/node_runtime.hpp"
#include "base/strings.hpp"
#include "observe/log.hpp"
#include "queue/queue_store.hpp"
#include "queue/relay_worker.hpp"

namespace postern::admin {

namespace {

std::string utc(int64_t t) {
  if (t <= 0) return "-";
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z",
                     std::chrono::system_clock::time_point(std::chrono::seconds(t)));
}

std::string age(int64_t created) {
  auto s = static_cast<int64_t>(::time(nullptr)) - created;
  if (s < 120) return fmt::format("{}s", s);
  if (s < 7200) return fmt::format("{}min", s / 60);
  if (s < 172800) return fmt::format("{}h", s / 3600);
  return fmt::format("{}d", s / 86400);
}

// The node's queue, or the data folder's when the CLI works without a node.
struct queue_handle {
  queue::queue_store* store = nullptr;
  std::unique_ptr<queue::queue_store> owned;
  base::error error{base::errc::unavailable, "", ""};
};

queue_handle open_queue(command_context& c) {
  queue_handle h;
  if (c.node && c.node->queue) {
    h.store = c.node->queue;
    return h;
  }
  auto q = queue::queue_store::open(c.cfg.data_dir);
  if (!q) {
    h.error = q.err();
    return h;
  }
  h.owned = std::move(*q);
  h.store = h.owned.get();
  return h;
}

command_reply error_reply(const base::error& e) {
  return failure(e.code == base::errc::not_found ? 404 : 500, e.message);
}

command_reply queue_list(command_context& c, const arguments& a) {
  auto h = open_queue(c);
  if (!h.store) return error_reply(h.error);
  auto rows = h.store->list({value_of(a, "sender"), value_of(a, "recipient")});
  if (!rows) return error_reply(rows.err());
  command_reply r;
  r.columns = {"id", "age", "sender", "size", "waiting", "attempts", "next_attempt", "last_reply"};
  for (auto& m : *rows) {
    std::vector<std::string> waiting;
    uint32_t attempts = 0;
    int64_t next = 0;
    std::string last;
    for (auto& rc : m.recipients) {
      if (rc.state != "queued") continue;
      waiting.push_back(rc.address);
      attempts = std::max(attempts, rc.attempts);
      if (!next || rc.next_attempt < next) next = rc.next_attempt;
      if (!rc.last_reply.empty()) last = rc.last_reply;
    }
    r.rows.push_back({m.id, age(m.created), m.sender.empty() ? "<>" : m.sender,
                      std::to_string(m.size), base::join(waiting, ", "), std::to_string(attempts),
                      next ? utc(next) : "now", last.empty() ? "-" : base::printable(last, 120)});
  }
  if (c.node && !c.node->relay)
    r.lines.push_back(
        "note: this node has no [relay] host configured, so nothing in the queue is being sent");
  return r;
}

command_reply queue_show(command_context& c, const arguments& a) {
  auto h = open_queue(c);
  if (!h.store) return error_reply(h.error);
  auto m = h.store->get(value_of(a, "id"));
  if (!m) return error_reply(m.err());
  command_reply r;
  r.lines.push_back(fmt::format("id: {}", m->id));
  r.lines.push_back(fmt::format("message-id: {}", m->message_id));
  r.lines.push_back(fmt::format("sender: <{}> (submitted by {})", m->sender,
                                m->user.empty() ? "this node" : m->user));
  r.lines.push_back(fmt::format("queued: {} ({} ago)", utc(m->created), age(m->created)));
  r.lines.push_back(fmt::format("size: {} bytes", m->size));
  std::vector<std::string> options;
  if (!m->ret.empty()) options.push_back("RET=" + m->ret);
  if (!m->envid.empty()) options.push_back("ENVID=" + m->envid);
  if (m->smtputf8) options.push_back("SMTPUTF8");
  if (m->requiretls) options.push_back("REQUIRETLS");
  if (m->warned) options.push_back("delay warning sent");
  if (!options.empty()) r.lines.push_back("options: " + base::join(options, " "));
  r.lines.push_back(fmt::format("file: {}", h.store->message_path(m->id)));
  r.columns = {"recipient", "state", "attempts", "next_attempt", "last_reply"};
  for (auto& rc : m->recipients)
    r.rows.push_back({rc.address, rc.state, std::to_string(rc.attempts),
                      rc.state == "queued" ? (rc.next_attempt ? utc(rc.next_attempt) : "now") : "-",
                      rc.last_reply.empty() ? "-" : base::printable(rc.last_reply, 200)});
  return r;
}

command_reply queue_flush(command_context& c, const arguments& a) {
  auto h = open_queue(c);
  if (!h.store) return error_reply(h.error);
  auto id = value_of(a, "id");
  auto n = h.store->flush(id);
  if (!n) return error_reply(n.err());
  if (c.node && c.node->relay) c.node->relay->wake();
  observe::log(observe::level::info, "admin", id,
               "{} flushed the outbound queue{}: {} recipient(s)", c.requester,
               id.empty() ? "" : " message " + id, *n);
  command_reply r;
  r.lines.push_back(fmt::format("{} waiting recipient(s) {} now{}", *n,
                                c.node ? "are being tried" : "will be tried",
                                c.node ? "" : " when the node starts (no running node answered)"));
  return r;
}

command_reply queue_delete(command_context& c, const arguments& a) {
  auto h = open_queue(c);
  if (!h.store) return error_reply(h.error);
  auto id = value_of(a, "id");
  auto reason = value_of(a, "reason");
  auto n = h.store->remove(id);
  if (!n) return error_reply(n.err());
  observe::log(observe::level::warning, "admin", id,
               "{} deleted message {} from the outbound queue ({} waiting recipient(s)): {}",
               c.requester, id, *n,
               reason.empty() ? "no reason given" : base::printable(reason, 200));
  if (auto gone = h.store->collect_finished(); !gone)
    observe::log(observe::level::error, "queue", id, "clearing finished messages failed: {}",
                 gone.err().message);
  command_reply r;
  r.lines.push_back(
      fmt::format("deleted message {}: {} waiting recipient(s) will not get it; "
                  "the sender is not told",
                  id, *n));
  return r;
}

}  // namespace

std::vector<command_spec> queue_commands() {
  std::vector<command_spec> out;
  arg_spec sender, recipient;
  sender.name = "sender";
  sender.help = "only messages whose sender contains this";
  recipient.name = "recipient";
  recipient.help = "only messages with a recipient that contains this";
  out.push_back({"queue list",
                 "messages waiting in the outbound queue: age, sender, recipients, attempts, "
                 "next attempt, last reply",
                 {sender, recipient},
                 false,
                 queue_list});
  arg_spec id;
  id.name = "id";
  id.help = "the queue id (from queue list, the 250 reply and the log)";
  id.positional = true;
  id.required = true;
  out.push_back({"queue show",
                 "one queued message: envelope, options and each recipient's state and last "
                 "reply",
                 {id},
                 false,
                 queue_show});
  arg_spec flush_id = id;
  flush_id.required = false;
  flush_id.help = "only this message (default: every waiting one)";
  out.push_back({"queue flush",
                 "try waiting recipients now instead of at their next attempt",
                 {flush_id},
                 false,
                 queue_flush});
  arg_spec reason;
  reason.name = "reason";
  reason.help = "why, for the node's log";
  out.push_back({"queue delete",
                 "remove a message from the outbound queue without sending or bouncing it (the "
                 "reason is logged)",
                 {id, reason},
                 false,
                 queue_delete});
  return out;
}

}  // namespace postern::admin
