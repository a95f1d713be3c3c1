// `postern mailbox check ADDRESS` and `postern mailbox repair ADDRESS
// [--restore]` (Exchange's New-MailboxRepairRequest -CorruptionType ImapID):
// the store's findings as a table, what repair did, and whether UIDVALIDITY
// had to change. On the node while it serves the mailbox, or on the data
// folder while it is stopped.
#include <fmt/format.h>

#include <chrono>
#include <thread>

#include "admin/node_runtime.hpp"
#include "base/strings.hpp"
#include "directory/directory.hpp"
#include "observe/log.hpp"
#include "session/core/session_table.hpp"

namespace postern::admin {

namespace {

// The index is damaged beyond an in-place repair: the user's sessions are
// ended (they hold the mailbox open) and the store rebuilds it from the files.
base::result<store::check_report> rebuild(command_context& c, const directory::user_record& u) {
  if (c.node && c.node->svc.sessions) {
    auto who = base::to_lower(u.address);
    c.node->svc.sessions->kill(
        [&](const session::core::session_info& i) { return base::to_lower(i.user) == who; },
        "the administrator is rebuilding this mailbox's index (postern mailbox repair); "
        "reconnect in a minute");
  }
  for (int attempt = 0;; ++attempt) {
    auto r = c.mail.rebuild(u.id);
    if (r || r.err().code != base::errc::in_use || attempt >= 100) return r;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // sessions closing
  }
}

command_reply run_check(command_context& c, const arguments& a, store::check_mode mode) {
  auto u = c.dir.find_user(value_of(a, "address"));
  if (!u) return failure(u.err());
  base::result<store::check_report> report = base::error{base::errc::corrupt, "", ""};
  {
    auto mb = c.mail.open(u->id);
    report = mb ? (*mb)->check(mode) : base::result<store::check_report>(mb.err());
  }
  if (!report && report.err().code == base::errc::corrupt) {
    observe::log(observe::level::error, "admin", "", "{}: mailbox of {} is damaged: {}",
                 c.requester, u->address, report.err().message);
    if (mode == store::check_mode::check) {
      store::check_report damaged;
      damaged.findings.push_back({"index", "", 0, report.err().message, ""});
      report = std::move(damaged);
    } else {
      report = rebuild(c, *u);
    }
  }
  if (!report) {
    observe::log(observe::level::error, "admin", "", "{}: mailbox {} of {}: {}", c.requester,
                 mode == store::check_mode::check ? "check" : "repair", u->address,
                 report.err().message);
    return failure(report.err());
  }
  command_reply r;
  r.columns = {"finding", "folder", "uid", "detail", "action"};
  size_t repaired = 0;
  for (auto& f : report->findings) {
    r.rows.push_back(
        {f.kind, f.folder, f.uid ? std::to_string(f.uid) : "", f.detail,
         f.action.empty() ? (mode == store::check_mode::check ? "" : "not repaired") : f.action});
    repaired += f.action.empty() ? 0 : 1;
  }
  auto summary = fmt::format("{}: {} folder(s), {} message(s), {} file(s) checked", u->address,
                             report->folders, report->messages, report->files);
  if (report->findings.empty()) {
    r.lines.push_back(summary + ": no problems found");
  } else if (mode == store::check_mode::check) {
    r.lines.push_back(fmt::format("{}: {} problem(s) found; `postern mailbox repair {}` fixes them",
                                  summary, report->findings.size(), u->address));
    r.problems = true;
  } else {
    r.lines.push_back(fmt::format("{}: {} problem(s) found, {} repaired", summary,
                                  report->findings.size(), repaired));
    r.problems = repaired < report->findings.size();
  }
  if (mode != store::check_mode::check)
    r.lines.push_back(report->uidvalidity_changed
                          ? "UIDVALIDITY changed: clients will download the mailbox again"
                          : "UIDVALIDITY and every existing UID are unchanged");
  observe::log(report->findings.empty() ? observe::level::info : observe::level::warning, "admin",
               "", "{}: mailbox {} of {}: {} finding(s), {} repaired", c.requester,
               mode == store::check_mode::check ? "check" : "repair", u->address,
               report->findings.size(), repaired);
  return r;
}

// `postern mailbox reindex`: the folder's messages (or all) are queued again
// and indexed here and now, so the command returns once SEARCH reads the new
// index; the node's indexer would get to them too, only later.
command_reply run_reindex(command_context& c, const arguments& a) {
  auto u = c.dir.find_user(value_of(a, "address"));
  if (!u) return failure(u.err());
  auto mb = c.mail.open(u->id);
  if (!mb) return failure(mb.err());
  auto folder = value_of(a, "folder");
  auto started = std::chrono::steady_clock::now();
  auto queued = (*mb)->reindex(folder);
  if (!queued) return failure(queued.err());
  // Messages queued already (by delivery, the index paused) count too.
  uint64_t indexed = 0;
  for (;;) {
    auto r = (*mb)->index_queued(256);
    if (!r) return failure(r.err());
    indexed += r->indexed;
    if (r->queued == 0) break;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  auto state = (*mb)->index_state();
  command_reply r;
  r.lines.push_back(
      fmt::format("{}{}: {} message(s) indexed in {:.1f} s; the full-text index "
                  "takes {:.1f} MB",
                  u->address, folder.empty() ? "" : " folder " + folder, indexed, secs,
                  state ? state->second / 1e6 : 0.0));
  observe::log(observe::level::info, "admin", "", "{}: mailbox reindex of {}{}: {} message(s)",
               c.requester, u->address, folder.empty() ? "" : " folder " + folder, indexed);
  return r;
}

}  // namespace

std::vector<command_spec> mailbox_commands() {
  arg_spec address, restore;
  address.name = "address";
  address.help = "the mailbox's address";
  address.positional = true;
  address.required = true;
  restore.name = "restore";
  restore.help =
      "also make the message files repair moved to lost+found messages of the folder Recovered";
  restore.what = arg_spec::kind::flag;
  arg_spec folder;
  folder.name = "folder";
  folder.help = "only this folder's messages (default: every folder)";
  return {{"mailbox reindex",
           "rebuild a mailbox's full-text index (of one folder with --folder) and wait until "
           "SEARCH reads it",
           {address, folder},
           false,
           run_reindex},
          {"mailbox check",
           "verify a mailbox's index against its files and itself (exit 65 when it found "
           "problems)",
           {address},
           false,
           [](command_context& c, const arguments& a) {
             return run_check(c, a, store::check_mode::check);
           }},
          {"mailbox repair",
           "check a mailbox and fix what is wrong, keeping UIDVALIDITY and every UID",
           {address, restore},
           false,
           [](command_context& c, const arguments& a) {
             return run_check(c, a,
                              value_of(a, "restore") == "true" ? store::check_mode::restore
                                                               : store::check_mode::repair);
           }}};
}

}  // namespace postern::admin
