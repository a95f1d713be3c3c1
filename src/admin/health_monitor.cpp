#include "admin/health_monitor.hpp"

#include <fmt/format.h>
#include <pthread.h>
#include <sys/statvfs.h>

#include <chrono>
#include <optional>

#include "admin/connectivity_probe.hpp"
#include "admin/health_account.hpp"
#include "base/files.hpp"
#include "base/strings.hpp"
#include "directory/component_view.hpp"
#include "directory/directory.hpp"
#include "directory/live_settings.hpp"
#include "observe/log.hpp"
#include "observe/metrics.hpp"
#include "store/store.hpp"

namespace postern::admin {

namespace {

directory::health_settings health_of(directory::live_settings& s, const std::string& protocol) {
  if (protocol == "pop3") return s.pop3()->health;
  if (protocol == "imap") return s.imap()->health;
  if (protocol == "submission") return s.submission()->health;
  return s.lmtp()->health;
}

// A refusal that is about the account, not the service: wrong password,
// a failed-login block, a limit or budget of the account.
bool account_refused(const std::string& reply) {
  for (auto code :
       {"[AUTH", "[LOGIN-DELAY]", "[IN-USE]", "[LIMIT]", "[CONTACTADMIN]", " 5.7.8 ", "454 4.7.0"})
    if (reply.find(code) != std::string::npos) return true;
  return false;
}

health_outcome fail(std::string step, std::string detail) {
  return {false, std::move(step), std::move(detail)};
}

}  // namespace

health_monitor::health_monitor(directory::directory& dir, directory::component_view& components,
                               directory::live_settings& settings, store::store& mail,
                               std::string data_dir, std::vector<health_target> targets,
                               observe::metrics* metrics)
    : dir_(dir),
      components_(components),
      settings_(settings),
      mail_(mail),
      data_dir_(std::move(data_dir)),
      targets_(std::move(targets)),
      metrics_(metrics),
      failures_(targets_.size(), 0) {}

health_monitor::~health_monitor() { stop(); }

void health_monitor::start() {
  if (thread_.joinable() || targets_.empty()) return;
  thread_ = std::thread([this] { run(); });
  ::pthread_setname_np(thread_.native_handle(), "postern-health");
}

void health_monitor::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

health_outcome health_monitor::probe(const health_target& t) {
  auto h = health_of(settings_, t.protocol);
  auto settings = dir_.settings(t.protocol);
  if (!settings) return fail("directory", settings.err().message);
  auto probe_file = fmt::format("{}/.health-probe-{}", data_dir_, t.protocol);
  if (auto why = base::synced_write_problem(probe_file); !why.empty())
    return fail("store writable", why);
  struct statvfs fs {};
  if (::statvfs(data_dir_.c_str(), &fs) == 0) {
    uint64_t free_bytes = uint64_t{fs.f_bavail} * fs.f_frsize;
    if (free_bytes < h.min_free_space)
      return fail("disk free", fmt::format("{} has {} MiB free, under health_min_free_space ({} "
                                           "MiB)",
                                           data_dir_, free_bytes >> 20, h.min_free_space >> 20));
  }
  if (h.probe_account.empty()) return {};
  auto user = dir_.find_user(h.probe_account);
  if (!user && user.err().code == base::errc::not_found) {
    // The probe's own setting is wrong, not the service: say so, loudly, but
    // never take a component out of service for it (seed 003).
    observe::log_limited(
        fmt::format("health account {}", t.protocol), observe::level::error, "health", "",
        "{} health_probe_account = {}: {}; the probe skips its login steps until "
        "it is fixed (postern {} set health_probe_account=...)",
        t.protocol, base::printable(h.probe_account, 100), user.err().message, t.protocol);
    return {};
  }
  if (!user) return fail("directory", user.err().message);
  auto box = mail_.open(user->id);
  if (!box) return fail("probe account's INBOX", box.err().message);
  auto inbox = (*box)->folder("INBOX");
  if (!inbox && inbox.err().code != base::errc::not_found)
    return fail("probe account's INBOX", inbox.err().message);
  probe_options o;
  o.protocol = t.protocol;
  o.host = t.address == "0.0.0.0" ? "127.0.0.1" : t.address == "::" ? "::1" : t.address;
  o.port = t.port;
  o.tls = t.tls == net::tls_mode::implicit   ? probe_tls::implicit
          : t.tls == net::tls_mode::starttls ? probe_tls::starttls
                                             : probe_tls::none;
  o.timeout = std::chrono::seconds(5);
  o.judge_certificate = false;
  // A real login needs the probe account's password: the node knows it only
  // for the account `postern health account` made.
  if (auto creds = read_probe_credentials(data_dir_);
      creds && base::iequals(creds->address, user->address)) {
    o.user = creds->address;
    o.password = creds->password;
  } else {
    observe::log_limited(fmt::format("health login {}", t.protocol), observe::level::info, "health",
                         "",
                         "the {} probe opens {}'s INBOX in the store but cannot log in as it: "
                         "the node does not know its password (`postern health account "
                         "ADDRESS` makes an account the probe logs in with)",
                         t.protocol, user->address);
  }
  auto report = run_probe(o);
  // While a requester holds the component out of service, its greeting says
  // so: that the listener accepted is all the probe can learn.
  bool held = components_.state(t.protocol).state != directory::component_state::active;
  for (auto& s : report.steps) {
    if (s.ok) continue;
    if (held && s.name == "greeting") break;
    // The probe account refused (its password changed, a block, its budget):
    // the probe's own problem, never a reason to take the service out (seed 003).
    if (s.name == "login" && account_refused(s.detail)) {
      observe::log_limited(fmt::format("health login refused {}", t.protocol),
                           observe::level::error, "health", "",
                           "the {} probe's login as {} was refused ({}); the service is not "
                           "judged by it: run `postern health account {}` to renew the account",
                           t.protocol, o.user, base::printable(s.detail, 200), o.user);
      break;
    }
    return fail(fmt::format("listener {}:{} {}", o.host, o.port, s.name), s.detail);
  }
  return {};
}

void health_monitor::judge(const health_target& t, const health_outcome& o,
                           uint32_t failures_allowed) {
  size_t i = static_cast<size_t>(&t - targets_.data());
  if (metrics_) metrics_->count_health(t.protocol, o.ok);
  bool health_holds = false;
  for (auto& r : components_.records())
    health_holds = health_holds || (r.component == t.protocol && r.requester == "health");
  if (o.ok) {
    failures_[i] = 0;
    if (!health_holds) return;
    directory::component_record rec{t.protocol, "health", directory::component_state::active, "",
                                    0};
    if (auto s = dir_.set_component_state(rec); !s) {
      observe::log(observe::level::error, "health", "", "cannot set {} active: {}", t.protocol,
                   s.err().message);
      return;
    }
    components_.refresh(true);
    observe::log(observe::level::warning, "health", "",
                 "{} health probes pass again: health no longer holds it out of service",
                 t.protocol);
    if (metrics_) metrics_->count_health_change(t.protocol, "active");
    return;
  }
  ++failures_[i];
  observe::log_limited(fmt::format("health {} {}", t.protocol, o.step), observe::level::warning,
                       "health", "", "{} health probe failed ({} of {} in a row): {}: {}",
                       t.protocol, failures_[i], failures_allowed, o.step,
                       base::printable(o.detail, 300));
  if (failures_[i] < failures_allowed || health_holds) return;
  directory::component_record rec{t.protocol, "health", directory::component_state::inactive,
                                  fmt::format("health probe failed {} times in a row: {}: {}",
                                              failures_[i], o.step, base::printable(o.detail, 300)),
                                  0};
  if (auto s = dir_.set_component_state(rec); !s) {
    observe::log(observe::level::error, "health", "", "cannot set {} inactive: {}", t.protocol,
                 s.err().message);
    return;
  }
  components_.refresh(true);
  observe::log(observe::level::warning, "health", "", "{} set inactive by health: {}", t.protocol,
               rec.reason);
  if (metrics_) metrics_->count_health_change(t.protocol, "inactive");
}

void health_monitor::run() {
  using clock = std::chrono::steady_clock;
  // The first probe a second after start; then the interval as set now (a
  // changed health_probe_interval applies to the next probe).
  auto started = clock::now();
  std::vector<std::optional<clock::time_point>> last(targets_.size());
  std::unique_lock lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::milliseconds(250), [&] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    auto now = clock::now();
    for (size_t i = 0; i < targets_.size(); ++i) {
      auto& t = targets_[i];
      auto h = health_of(settings_, t.protocol);
      auto due = last[i] ? *last[i] + h.interval : started + std::chrono::seconds(1);
      if (now < due) continue;
      last[i] = now;
      if (!h.enabled) continue;
      health_outcome o;
      try {
        o = probe(t);
      } catch (const std::exception& e) {
        o = fail("probe", e.what());
      }
      judge(t, o, h.failures);
    }
    lock.lock();
  }
}

}  // namespace postern::admin
