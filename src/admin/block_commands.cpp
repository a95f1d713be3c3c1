// `postern block list`, `postern block clear IP|ADDRESS` and `postern user
// stat ADDRESS`: the failed-login defence and the per-user limits made
// visible and clearable (seed 002: users cut off by a limit nobody could see).
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <map>

#include "admin/node_runtime.hpp"
#include "base/strings.hpp"
#include "directory/directory.hpp"
#include "observe/log.hpp"

namespace postern::admin {

namespace {

template <class S>
policy::login_defence_settings defence_of(const S& p) {
  policy::login_defence_settings d;
  d.first_delay = p.login_failure_delay;
  d.max_delay = p.login_failure_delay_max;
  d.block_threshold = p.login_block_threshold;
  d.window = p.login_block_window;
  return d;
}

std::string utc(std::chrono::system_clock::time_point t) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", std::chrono::ceil<std::chrono::seconds>(t));
}

// Each held address and account, with the protocols that refuse it now.
struct held {
  bool is_address = false;
  size_t failures = 0;
  std::chrono::system_clock::time_point first, last;
  std::string blocked;  // "pop3 until ..., imap until ..."
};

std::map<std::string, held> held_now(session::services& svc) {
  std::map<std::string, held> out;
  auto add = [&](std::string_view protocol, const policy::login_defence_settings& s) {
    for (auto& e : svc.defence.list(s)) {
      auto& h = out[e.name];
      h.is_address = e.is_address;
      h.failures = std::max(h.failures, e.failures);
      h.first = e.first_failure;
      h.last = e.last_failure;
      if (e.blocked_until)
        h.blocked += fmt::format("{}{} until {}", h.blocked.empty() ? "" : ", ", protocol,
                                 utc(*e.blocked_until));
    }
  };
  add("pop3", defence_of(*svc.settings.pop3()));
  add("imap", defence_of(*svc.settings.imap()));
  return out;
}

command_reply block_list(command_context& c, const arguments&) {
  command_reply r;
  r.columns = {"kind", "name", "failures", "since", "last_failure", "refused"};
  for (auto& [name, h] : held_now(c.node->svc))
    r.rows.push_back({h.is_address ? "address" : "account", name, std::to_string(h.failures),
                      utc(h.first), utc(h.last),
                      h.blocked.empty() ? "no (slowed only)" : h.blocked});
  if (r.rows.empty())
    r.lines.push_back(
        "no failed logins are held (login_block_window): nothing is slowed or "
        "refused");
  return r;
}

command_reply block_clear(command_context& c, const arguments& a) {
  auto name = value_of(a, "name");
  if (!c.node->svc.defence.clear(name))
    return failure(404,
                   fmt::format("no failed logins are held for {}", base::printable(name, 100)));
  observe::log(observe::level::warning, "admin", "", "{} cleared the failed logins of {}",
               c.requester, base::printable(name, 100));
  command_reply r;
  r.lines.push_back(
      fmt::format("cleared the failed logins of {}: its next login is answered at "
                  "once",
                  base::printable(name, 100)));
  return r;
}

// "balance 299870 of 300000 ms (max_burst), 0 of 20 commands running
// (max_concurrency)", and when refused, until when.
std::string budget_cell(session::services& svc, const std::string& protocol,
                        const std::string& address, const policy::budget_settings& knobs) {
  auto account = svc.budgets ? svc.budgets->find(protocol, address) : nullptr;
  if (!account)
    return fmt::format("full: {} of {} ms (max_burst), recharge_rate {} ms/h, cutoff_balance {} ms",
                       knobs.max_burst.count(), knobs.max_burst.count(),
                       knobs.recharge_rate.count(), knobs.cutoff_balance.count());
  auto st = account->state(knobs);
  auto text = fmt::format(
      "balance {} of {} ms (max_burst), recharge_rate {} ms/h, cutoff_balance {} ms; {} of {} "
      "commands running (max_concurrency); {} delayed, {} refused",
      st.balance_ms, knobs.max_burst.count(), knobs.recharge_rate.count(),
      knobs.cutoff_balance.count(), st.running, knobs.max_concurrency, st.delayed, st.refused);
  if (st.refused_until > std::chrono::system_clock::now())
    text += fmt::format("; REFUSED until {}", utc(st.refused_until));
  return text;
}

command_reply user_stat(command_context& c, const arguments& a) {
  auto address = value_of(a, "address");
  auto u = c.dir.find_user(address);
  if (!u) return failure(u.err());
  auto& svc = c.node->svc;
  command_reply r;
  r.columns = {"protocol", "login", "connections", "limit", "budget"};
  auto row = [&](std::string protocol, uint32_t limit, const policy::budget_settings& knobs) {
    r.rows.push_back({protocol, u->allows(protocol) ? "on" : "off",
                      std::to_string(svc.registry.user_connections(protocol, u->address)),
                      fmt::format("{} (max_connections_per_user)", limit),
                      budget_cell(svc, protocol, u->address, knobs)});
  };
  auto pop3 = svc.settings.pop3();
  auto imap = svc.settings.imap();
  row("pop3", pop3->max_connections_per_user, pop3->budget);
  row("imap", imap->max_connections_per_user, imap->budget);
  auto holds = held_now(svc);
  auto it = holds.find(base::to_lower(u->address));
  if (it == holds.end())
    r.lines.push_back(fmt::format("{}: no failed logins held", u->address));
  else
    r.lines.push_back(fmt::format(
        "{}: {} failed login(s) since {}, the last at {}; each answer "
        "waits longer (login_failure_delay); `postern block clear {}` "
        "forgets them",
        u->address, it->second.failures, utc(it->second.first), utc(it->second.last), u->address));
  size_t refused = 0;
  for (auto& [name, h] : holds) refused += h.is_address && !h.blocked.empty() ? 1 : 0;
  if (refused)
    r.lines.push_back(
        fmt::format("{} client address(es) are refused for failed logins: `postern "
                    "block list`",
                    refused));
  auto show = [](uint64_t v) { return v ? std::to_string(v) : std::string("no limit"); };
  r.lines.push_back(fmt::format("quota: storage {} bytes, messages {}", show(u->quota_storage),
                                show(u->quota_messages)));
  return r;
}

}  // namespace

std::vector<command_spec> block_commands() {
  arg_spec name, address;
  name.name = "name";
  name.help = "a client IP address or a mail address";
  name.positional = true;
  name.required = true;
  address.name = "address";
  address.help = "mail address";
  address.positional = true;
  address.required = true;
  return {{"block list",
           "client addresses and accounts with failed logins: how many, and who is refused until "
           "when",
           {},
           true,
           block_list},
          {"block clear",
           "forget the failed logins of an IP address or account",
           {name},
           true,
           block_clear},
          {"user stat",
           "a user's connections per protocol against their limit, throttling budget balance, "
           "failed logins, blocks, quota",
           {address},
           true,
           user_stat}};
}

}  // namespace postern::admin
