#include "observe/log.hpp"

#include <sys/stat.h>
#include <sys/uio.h>
// The journal's CODE_FILE/CODE_LINE would name this file for every line.
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <string>
#include <unordered_map>

namespace postern::observe {

namespace {
std::atomic<int> min_level{static_cast<int>(level::info)};
std::mutex out_mu;

const char* name_of(level l) {
  switch (l) {
    case level::debug:
      return "debug";
    case level::info:
      return "info";
    case level::warning:
      return "warning";
    case level::error:
      return "error";
  }
  return "?";
}

// The last line of defence against forged log lines: whatever a call site
// passed, no control byte reaches the log raw (CR, LF, ESC, NUL, DEL...).
std::string escape_controls(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

bool has_controls(std::string_view text) {
  for (unsigned char c : text)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

// systemd.exec(5): $JOURNAL_STREAM names the device and inode of the stream
// systemd connected to standard error; if standard error is still that
// stream (not redirected by a wrapper), the journal is listening.
bool stderr_is_journal() {
  const char* env = std::getenv("JOURNAL_STREAM");
  if (!env) return false;
  struct stat st {};
  if (::fstat(STDERR_FILENO, &st) != 0) return false;
  return fmt::format("{}:{}", st.st_dev, st.st_ino) == env;
}

std::atomic<int> journal_mode{-1};  // -1: not decided yet
std::mutex lookup_mu;
session_lookup lookup;

// RFC 5424 / syslog(3) priorities, which the journal's PRIORITY uses.
int priority_of(level l) {
  switch (l) {
    case level::debug:
      return 7;
    case level::info:
      return 6;
    case level::warning:
      return 4;
    case level::error:
      return 3;
  }
  return 6;
}

bool is_protocol(std::string_view component) {
  return component == "pop3" || component == "imap" || component == "lmtp" ||
         component == "submission";
}

}  // namespace

void set_session_lookup(session_lookup f) {
  std::lock_guard lock(lookup_mu);
  lookup = std::move(f);
}

bool to_journal() {
  int mode = journal_mode.load(std::memory_order_relaxed);
  if (mode < 0) {
    mode = stderr_is_journal() ? 1 : 0;
    journal_mode = mode;
  }
  return mode == 1;
}

void set_to_journal(bool on) { journal_mode = on ? 1 : 0; }

std::vector<std::string> journal_fields(level l, std::string_view component,
                                        std::string_view session_id, std::string_view text,
                                        const line_fields& fields,
                                        const std::optional<session_fields>& session) {
  // The message keeps the plain line's component and session id, so
  // `journalctl -u postern` reads like the terminal; the fields are for
  // filtering. Control bytes are escaped as on the terminal.
  std::string shown = has_controls(text) ? escape_controls(text) : std::string(text);
  std::vector<std::string> out;
  out.push_back(fmt::format("MESSAGE={} {}{}{}", component, session_id,
                            session_id.empty() ? "" : " ", shown));
  out.push_back(fmt::format("PRIORITY={}", priority_of(l)));
  out.push_back("SYSLOG_IDENTIFIER=postern");
  out.push_back(fmt::format("POSTERN_COMPONENT={}", component));
  if (!session_id.empty()) out.push_back(fmt::format("SESSION_ID={}", session_id));
  std::string_view protocol = session && !session->protocol.empty()
                                  ? std::string_view(session->protocol)
                              : is_protocol(component) ? component
                                                       : std::string_view();
  if (!protocol.empty()) out.push_back(fmt::format("PROTOCOL={}", protocol));
  if (session && !session->user.empty())
    out.push_back(fmt::format("USER={}", escape_controls(session->user)));
  std::string_view remote = !fields.remote_addr.empty() ? fields.remote_addr
                            : session                   ? std::string_view(session->remote_addr)
                                                        : std::string_view();
  if (!remote.empty()) out.push_back(fmt::format("REMOTE_ADDR={}", remote));
  if (!fields.code.empty()) out.push_back(fmt::format("CODE={}", escape_controls(fields.code)));
  return out;
}

void set_min_level(level l) { min_level = static_cast<int>(l); }

bool enabled(level l) { return static_cast<int>(l) >= min_level.load(std::memory_order_relaxed); }

bool may_log(std::string_view key, uint64_t& suppressed) {
  struct window {
    std::chrono::steady_clock::time_point last{};
    uint64_t held = 0;
  };
  static std::mutex mu;
  static std::unordered_map<std::string, window> windows;
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu);
  if (windows.size() > 10000) windows.clear();  // keys are listeners and reasons: few
  auto& w = windows[std::string(key)];
  if (w.last != std::chrono::steady_clock::time_point{} &&
      now - w.last < std::chrono::seconds(10)) {
    ++w.held;
    return false;
  }
  suppressed = w.held;
  w.held = 0;
  w.last = now;
  return true;
}

void write_line(level l, std::string_view component, std::string_view session,
                std::string_view text, const line_fields& fields) {
  if (static_cast<int>(l) < min_level) return;
  if (to_journal()) {
    std::optional<session_fields> found;
    if (!session.empty()) {
      std::lock_guard lock(lookup_mu);
      if (lookup) found = lookup(session);
    }
    auto items = journal_fields(l, component, session, text, fields, found);
    std::vector<iovec> iov;
    iov.reserve(items.size());
    for (auto& i : items) iov.push_back({i.data(), i.size()});
    if (::sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) >= 0) return;
    // The journal went away: the line still goes to standard error.
  }
  auto now = std::chrono::system_clock::now();
  auto t = std::chrono::system_clock::to_time_t(now);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  auto line = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z {} {} {}{}{}\n",
                          tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                          tm.tm_sec, ms, name_of(l), component, session, session.empty() ? "" : " ",
                          has_controls(text) ? escape_controls(text) : std::string(text));
  std::lock_guard lock(out_mu);
  ::write(STDERR_FILENO, line.data(), line.size());
}

std::string new_session_id() {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t start = static_cast<uint64_t>(::time(nullptr)) << 24;
  return fmt::format("{:016X}", start + counter.fetch_add(1));
}

}  // namespace postern::observe
