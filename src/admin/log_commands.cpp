// `postern log search [--protocol P] [--user U] [--session ID] [--since 1h]
// [--failed]`: reads the protocol logs (data_dir/logs/PROTOCOL/*.LOG) and
// answers "why did joe's login fail" directly, newest matches last.
#include <dirent.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <deque>
#include <fstream>

#include "admin/command_registry.hpp"
#include "admin/protocols.hpp"
#include "base/strings.hpp"
#include "directory/settings_schema.hpp"

namespace postern::admin {

namespace {

// One CSV line (as observe::format_line writes it) into its fields.
std::vector<std::string> csv_fields(std::string_view line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        out.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else if (c != '\r' && c != '\n') {
      out.back() += c;
    }
  }
  return out;
}

// The protocol's log files, oldest first.
std::vector<std::string> log_files(const std::string& dir) {
  struct file {
    std::string path;
    time_t mtime;
  };
  std::vector<file> files;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (auto* e = ::readdir(d)) {
      std::string_view name(e->d_name);
      if (!name.ends_with(".LOG")) continue;
      auto path = dir + "/" + std::string(name);
      struct stat st {};
      if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode))
        files.push_back({path, st.st_mtime});
    }
    ::closedir(d);
  }
  std::sort(files.begin(), files.end(), [](auto& a, auto& b) {
    return a.mtime != b.mtime ? a.mtime < b.mtime : a.path < b.path;
  });
  std::vector<std::string> out;
  for (auto& f : files) out.push_back(f.path);
  return out;
}

command_reply log_search(command_context& c, const arguments& a) {
  auto protocol = value_of(a, "protocol"), user = value_of(a, "user"),
       session = value_of(a, "session");
  bool failed_only = value_of(a, "failed") == "true";
  std::string cutoff;
  if (has(a, "since")) {
    auto text = value_of(a, "since");
    auto seconds = directory::parse_duration(text);
    if (!seconds)
      return failure(400, fmt::format("--since {}: expected a duration like 90s, 30min, 1h, 2d",
                                      base::printable(text, 40)));
    auto from = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now() -
                                                         std::chrono::seconds(*seconds));
    cutoff = fmt::format("{:%Y-%m-%dT%H:%M:%S}", from);
  }
  size_t limit = 200;
  if (has(a, "limit")) {
    auto n = base::parse_u64(value_of(a, "limit"));
    if (!n || *n == 0 || *n > 100000)
      return failure(400, "--limit must be a whole number from 1 to 100000");
    limit = *n;
  }
  command_reply r;
  r.columns = {"time", "protocol", "session",    "seq",    "client",
               "user", "command",  "parameters", "context"};
  std::deque<std::vector<std::string>> rows;
  size_t matched = 0, files = 0;
  for (auto& kind : protocols()) {
    std::string name(kind.name);
    if (!protocol.empty() && name != protocol) continue;
    for (auto& path : log_files(c.cfg.data_dir + "/logs/" + name)) {
      ++files;
      std::ifstream in(path);
      std::string line;
      while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        auto f = csv_fields(line);
        if (f.size() != 12) continue;
        // dateTime,sessionId,seqNumber,sIp,cIp,user,duration,rqsize,rpsize,command,parameters,context
        if (!cutoff.empty() && f[0] < cutoff) continue;
        if (!session.empty() && !base::iequals(f[1], session)) continue;
        if (!user.empty() && !base::iequals(f[5], user)) continue;
        // Refused: a command's context other than R=ok, or a door refusal
        // ("OpenSession; R=..."); a session's own open and close lines are not.
        if (failed_only &&
            (f[11] == "R=ok" || f[11] == "OpenSession" || f[11].starts_with("CloseSession")))
          continue;
        ++matched;
        rows.push_back({f[0], name, f[1], f[2], f[4], f[5], f[9], f[10], f[11]});
        if (rows.size() > limit) rows.pop_front();
      }
    }
  }
  for (auto& row : rows) r.rows.push_back(std::move(row));
  if (files == 0)
    r.lines.push_back(
        fmt::format("no protocol log files under {}/logs: switch one on with `postern pop3 set "
                    "protocol_log=on` (also imap, lmtp); refusals are always in the node's own log",
                    c.cfg.data_dir));
  else if (matched > r.rows.size())
    r.lines.push_back(fmt::format("{} matching lines; the newest {} are shown (--limit)", matched,
                                  r.rows.size()));
  return r;
}

}  // namespace

std::vector<command_spec> log_commands() {
  arg_spec protocol, user, session, since, failed, limit;
  protocol.name = "protocol";
  protocol.help = "only this protocol's log";
  for (auto& k : protocols()) protocol.choices.emplace_back(k.name);
  user.name = "user";
  user.help = "only lines of this user (a failed login names the user it tried)";
  session.name = "session";
  session.help = "only this session (the id in error replies and session list)";
  since.name = "since";
  since.help = "only the last 90s, 30min, 1h, 2d ...";
  failed.name = "failed";
  failed.help = "only refused commands and connections refused at the door";
  failed.what = arg_spec::kind::flag;
  limit.name = "limit";
  limit.help = "show at most this many of the newest matches (default 200)";
  return {{"log search",
           "search the protocol logs: why did a login or command fail, for whom, when",
           {protocol, user, session, since, failed, limit},
           false,
           log_search}};
}

}  // namespace postern::admin
