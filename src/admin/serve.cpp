// `postern serve`: checks everything a node needs before it listens, so a node
// that cannot serve refuses to start and says why, instead of accepting
// connections and failing them.
#include <fmt/format.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <map>
#include <thread>

#include "admin/admin_token.hpp"
#include "admin/api_session.hpp"
#include "admin/commands.hpp"
#include "admin/health_monitor.hpp"
#include "admin/node_runtime.hpp"
#include "admin/protocols.hpp"
#include "admin/retention.hpp"
#include "admin/text_indexer.hpp"
#include "base/clock.hpp"
#include "base/files.hpp"
#include "base/strings.hpp"
#include "directory/authenticate.hpp"
#include "directory/component_view.hpp"
#include "directory/live_settings.hpp"
#include "net/tls.hpp"
#include "observe/log.hpp"
#include "observe/protocol_log.hpp"
#include "observe/service_manager.hpp"
#include "policy/connection_registry.hpp"
#include "policy/login_defence.hpp"
#include "queue/queue_store.hpp"
#include "queue/relay_worker.hpp"
#include "session/core/protocol_log_observer.hpp"

namespace postern::admin {

namespace {
int refuse(const std::string& why) {
  fmt::print(stderr, "postern: cannot start: {}\n", why);
  return ex_config;
}

// The protocol logs follow the live settings (`postern pop3 set protocol_log=on`).
void configure_protocol_logs(observe::protocol_log& logs, directory::live_settings& settings) {
  auto limits = [](const directory::protocol_log_settings& l) {
    return observe::protocol_log_limits{l.enabled, l.max_file_size, l.max_directory_size,
                                        l.max_age};
  };
  logs.configure("pop3", limits(settings.pop3()->log));
  logs.configure("imap", limits(settings.imap()->log));
  logs.configure("lmtp", limits(settings.lmtp()->log));
  logs.configure("submission", limits(settings.submission()->log));
}

// A component set inactive lets its open sessions go on for its protocol's
// drain_timeout, then tells each why and closes it. (Draining leaves them.)
void end_drained_sessions(directory::component_view& components, directory::live_settings& settings,
                          session::core::session_table& sessions) {
  auto now = std::chrono::system_clock::now();
  for (std::string_view protocol : {"pop3", "imap", "lmtp", "submission"}) {
    auto state = components.state(protocol);
    if (state.state != directory::component_state::inactive || !state.because) continue;
    auto drain = protocol == "pop3"   ? settings.pop3()->drain_timeout
                 : protocol == "imap" ? settings.imap()->drain_timeout
                 : protocol == "lmtp" ? settings.lmtp()->drain_timeout
                                      : settings.submission()->drain_timeout;
    auto since = std::chrono::system_clock::time_point(std::chrono::seconds(state.because->since));
    if (now < since + drain) continue;
    auto which = [protocol](const session::core::session_info& s) {
      return s.protocol == protocol;
    };
    auto n = sessions.kill(which, directory::out_of_service_words(base::to_upper(protocol), state));
    if (n)
      observe::log(observe::level::warning, "component", "",
                   "{} is inactive and drain_timeout ({} s) has passed: closing {} open "
                   "session(s)",
                   protocol, drain.count(), n);
  }
}
// What differs between the running configuration and the file now, in
// the file's words ("[[listener]] tables, threads"); empty when nothing a
// reload cannot apply changed (certificate files are reread by the reload).
std::string needs_restart(const node_config& was, const node_config& now) {
  std::vector<std::string> changed;
  if (was.data_dir != now.data_dir) changed.push_back("data_dir");
  if (was.hostname != now.hostname) changed.push_back("hostname");
  if (was.threads != now.threads) changed.push_back("threads");
  if (was.shutdown_timeout != now.shutdown_timeout) changed.push_back("shutdown_timeout");
  if (was.tls_certificate != now.tls_certificate || was.tls_key != now.tls_key ||
      was.tls_profile != now.tls_profile || was.tls_sni != now.tls_sni)
    changed.push_back("[tls]");
  auto same_listener = [](const listener_config& a, const listener_config& b) {
    return a.protocol == b.protocol && a.address == b.address && a.port == b.port &&
           a.tls == b.tls && a.certificate == b.certificate && a.key == b.key &&
           a.client_ca == b.client_ca;
  };
  if (!std::equal(was.listeners.begin(), was.listeners.end(), now.listeners.begin(),
                  now.listeners.end(), same_listener))
    changed.push_back("[[listener]] tables");
  if (was.relay.host != now.relay.host || was.relay.port != now.relay.port ||
      was.relay.tls != now.relay.tls || was.relay.username != now.relay.username ||
      was.relay.password_file != now.relay.password_file || was.relay.ca_file != now.relay.ca_file)
    changed.push_back("[relay]");
  return base::join(changed, ", ");
}

}  // namespace

int serve(const node_config& cfg) {
  // A SIGHUP (systemctl reload) before the reload handler is in place must
  // not end the node: ignored until server::run handles it.
  std::signal(SIGHUP, SIG_IGN);
  // Each connection and each open mailbox holds descriptors; use all we may.
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  if (cfg.listeners.empty())
    return refuse(fmt::format("{} has no [[listener]] tables: nothing to serve", cfg.path));
  if (auto s = base::make_directories(cfg.data_dir); !s)
    return refuse(
        fmt::format("{}: data_dir = \"{}\": {}", cfg.path, cfg.data_dir, s.err().message));
  if (::access(cfg.data_dir.c_str(), R_OK | W_OK | X_OK) != 0)
    return refuse(fmt::format("{}: data_dir = \"{}\" is not a readable, writable folder: {}",
                              cfg.path, cfg.data_dir, std::strerror(errno)));
  auto dir = directory::open_sqlite_directory(cfg.data_dir, false);
  if (!dir)
    return refuse(
        fmt::format("{}: data_dir = \"{}\": {}", cfg.path, cfg.data_dir, dir.err().message));
  auto mail = store::make_sqlite_store(cfg.data_dir);
  // Messages a killed node was still receiving were never acknowledged:
  // their spool files are garbage now (only a running node writes there).
  {
    std::error_code ec;
    size_t stale = 0;
    for (auto& e : std::filesystem::directory_iterator(cfg.data_dir + "/spool", ec))
      if (e.path().extension() == ".tmp" && std::filesystem::remove(e.path(), ec)) ++stale;
    if (stale)
      observe::log(observe::level::info, "node", "",
                   "removed {} unacknowledged partial messages from {}/spool", stale, cfg.data_dir);
  }

  // The outbound queue: what a killed node had acknowledged is all there;
  // what it was still writing was never acknowledged.
  auto outbound = queue::queue_store::open(cfg.data_dir);
  if (!outbound)
    return refuse(fmt::format("{}: the outbound queue in {}/queue: {}", cfg.path, cfg.data_dir,
                              outbound.err().message));
  if (auto gone = (*outbound)->recover(); gone && *gone)
    observe::log(observe::level::info, "queue", "",
                 "removed {} unacknowledged partial messages from {}/queue/messages", *gone,
                 cfg.data_dir);
  if (cfg.relay.configured() && !cfg.relay.password_file.empty() &&
      ::access(cfg.relay.password_file.c_str(), R_OK) != 0)
    return refuse(fmt::format("{}: password_file = \"{}\" cannot be read: {}", cfg.relay.origin,
                              cfg.relay.password_file, std::strerror(errno)));

  // The admin API's token exists before anything listens, so the CLI finds
  // it as soon as the node answers.
  auto token = ensure_admin_token(cfg.data_dir);
  if (!token) return refuse(token.err().message);

  // One TLS source per certificate and key pair, shared by the listeners
  // that use it, each reloadable (`postern cert reload`, SIGHUP).
  std::map<std::tuple<std::string, std::string, std::string>, std::shared_ptr<net::tls_source>>
      tls_sources;
  std::vector<std::shared_ptr<net::tls_source>> listener_tls;
  for (auto& l : cfg.listeners) {
    if (l.tls == net::tls_mode::none) {
      listener_tls.push_back(nullptr);
      continue;
    }
    auto cert = l.certificate.empty() ? cfg.tls_certificate : l.certificate;
    auto key = l.certificate.empty() ? cfg.tls_key : l.key;
    auto& source = tls_sources[{cert, key, l.client_ca}];
    if (!source) {
      net::tls_options options;
      options.profile = cfg.tls_profile;
      options.sni = cfg.tls_sni;
      options.client_ca = l.client_ca;
      auto ctx = net::make_server_tls(cert, key, options);
      if (!ctx) return refuse(fmt::format("{}: {}: {}", cfg.path, l.origin, ctx.err().message));
      source = std::make_shared<net::tls_source>(cert, key, options, *ctx);
    }
    listener_tls.push_back(source);
  }

  directory::live_settings settings(**dir);
  policy::connection_registry registry;
  directory::credential_cache credentials;
  policy::login_defence defence(base::system_clock());
  directory::warm_up_authentication();
  directory::user_cache users;
  session::core::session_table sessions;
  // The journal's USER, PROTOCOL and REMOTE_ADDR of a session's lines.
  observe::set_session_lookup(
      [&sessions](std::string_view id) -> std::optional<observe::session_fields> {
        auto found = sessions.find(std::string(id));
        if (!found) return std::nullopt;
        return observe::session_fields{found->protocol, found->user, found->remote_ip};
      });
  struct forget_session_lookup {
    ~forget_session_lookup() { observe::set_session_lookup(nullptr); }
  } forget_lookup_on_return;
  session::services svc{**dir, *mail,        settings, credentials, registry, defence,
                        users, cfg.hostname, 0};
  svc.sessions = &sessions;
  policy::budgets budgets(base::system_clock());
  svc.budgets = &budgets;
  policy::send_rate send_rate(base::system_clock());
  svc.send_rate = &send_rate;
  observe::protocol_log protocol_logs(cfg.data_dir + "/logs");
  configure_protocol_logs(protocol_logs, settings);
  observe::metrics metrics;
  svc.metrics = &metrics;
  store::set_commit_listener(
      [&metrics](std::chrono::microseconds d) { metrics.count_store_commit(d); });
  struct forget_commit_listener {
    ~forget_commit_listener() { store::set_commit_listener(nullptr); }
  } forget_on_return;
  session::core::protocol_log_observer observer(protocol_logs, metrics);
  svc.observer = &observer;
  directory::component_view components(**dir);
  components.refresh(true);
  svc.components = &components;
  for (auto& rec : components.records())
    observe::log(observe::level::warning, "component", "", "{} is {} (set by {} at start-up{}{})",
                 rec.component, directory::state_name(rec.state), rec.requester,
                 rec.reason.empty() ? "" : ": ", base::printable(rec.reason, 200));
  for (auto& l : cfg.listeners)
    if (l.protocol == "pop3" && l.tls == net::tls_mode::implicit && !svc.pop3s_port)
      svc.pop3s_port = l.port;

  unsigned threads = cfg.threads ? cfg.threads : std::max(1u, std::thread::hardware_concurrency());
  net::server server(threads);
  std::vector<health_target> health_targets;
  node_runtime node{svc, cfg};
  node.queue = outbound->get();
  auto& directory_for_reports = **dir;
  auto& store_for_reports = *mail;
  auto* queue_for_reports = outbound->get();
  // Reports go to the sender's own mailbox when the address is ours, else
  // through the queue with the null sender (RFC 3464 §2, RFC 5321 §4.5.5).
  auto deliver_report = [&directory_for_reports, &store_for_reports, queue_for_reports](
                            const queue::queued_message& about,
                            std::string report) -> base::status {
    auto owner = directory_for_reports.find_recipient(about.sender);
    if (owner) {
      auto mb = store_for_reports.open(owner->id);
      if (!mb) return mb.err();
      auto uid = (*mb)->append(
          "INBOX", store::new_message{report, static_cast<int64_t>(::time(nullptr)), 0});
      if (!uid) return uid.err();
      return base::ok_status();
    }
    if (owner.err().code != base::errc::not_found) return owner.err();
    queue::new_message m;
    m.sender = "";
    m.message_id = "report for " + about.id;
    m.recipients.push_back({about.sender, "", ""});
    queue::message_source src;
    src.memory = report;
    auto id = queue_for_reports->enqueue(m, src, static_cast<int64_t>(::time(nullptr)));
    if (!id) return id.err();
    return base::ok_status();
  };
  std::unique_ptr<queue::relay_worker> relay;
  if (cfg.relay.configured()) {
    auto policy = [&settings] {
      auto s = settings.submission();
      return queue::queue_policy{s->queue_lifetime, s->delay_warning};
    };
    relay = std::make_unique<queue::relay_worker>(**outbound, cfg.relay, cfg.hostname, policy,
                                                  deliver_report);
    svc.queue = outbound->get();
    svc.relay = relay.get();
    node.relay = relay.get();
    observe::log(observe::level::info, "queue", "",
                 "relaying remote recipients through {}:{} (tls = {}{})", cfg.relay.host,
                 cfg.relay.port, queue::tls_mode_name(cfg.relay.tls),
                 cfg.relay.username.empty() ? "" : ", as " + cfg.relay.username);
  }
  node.settings_changed = [&] { configure_protocol_logs(protocol_logs, settings); };
  node.logs = &protocol_logs;
  api_context api{node, *token};
  for (size_t i = 0; i < cfg.listeners.size(); ++i) {
    auto& l = cfg.listeners[i];
    auto& tls = listener_tls[i];
    net::listener_spec spec{l.protocol, l.address, l.port, l.tls, l.origin};
    net::session_handler handler;
    if (l.protocol == "admin") {
      handler = [&api](std::shared_ptr<net::connection> c, const net::listener_spec& s) {
        return run_api_session(api, std::move(c), s);
      };
    } else {
      auto* kind = find_protocol(l.protocol);
      if (!kind || !kind->run)
        return refuse(fmt::format("{}: {}: protocol \"{}\" cannot serve connections", cfg.path,
                                  l.origin, l.protocol));
      auto run = kind->run;
      handler = [&svc, run](std::shared_ptr<net::connection> c, const net::listener_spec& s) {
        return run(svc, std::move(c), s);
      };
    }
    auto port = server.listen(spec, tls, std::move(handler));
    if (!port) return refuse(port.err().message);
    // The health monitor probes each protocol at its first listener.
    bool probed = l.protocol == "admin";
    for (auto& t : health_targets) probed = probed || t.protocol == l.protocol;
    if (!probed) health_targets.push_back({l.protocol, l.address, *port, l.tls});
    const char* mode = l.tls == net::tls_mode::implicit   ? "implicit TLS"
                       : l.tls == net::tls_mode::starttls ? "STARTTLS"
                                                          : "no TLS";
    node.listening.push_back(fmt::format("{} {}:{} ({})", l.protocol, l.address, *port, mode));
    if (tls)
      node.certificates.push_back({fmt::format("{} {}:{}", l.protocol, l.address, *port), tls});
    observe::log(observe::level::info, "node", "", "listening: {} on {}:{} ({})", l.protocol,
                 l.address, *port, mode);
  }
  health_monitor health(**dir, components, settings, *mail, cfg.data_dir, std::move(health_targets),
                        &metrics);
  health.start();
  if (relay) relay->start();
  retention_schedule retention(**dir, *mail, cfg.data_dir, &metrics);
  text_indexer indexer(*mail, cfg.data_dir,
                       [&settings] { return settings.imap()->full_text_index; });
  store::set_index_listener([&indexer](int64_t user_id) { indexer.wake(user_id); });
  struct forget_index_listener {
    ~forget_index_listener() { store::set_index_listener(nullptr); }
  } forget_indexer_on_return;
  node.indexer = &indexer;
  indexer.start();
  // `postern deliver` runs in another process: watch the open mailboxes'
  // indexes so their sessions (IMAP IDLE) hear of its deliveries.
  std::atomic<bool> watching{true};
  // The same thread keeps the RCPT hints honest: any directory change drops them.
  auto& directory = **dir;
  std::thread watcher([&] {
    while (watching) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      mail->poll_external_changes();
      users.invalidate_if_changed(directory.version());
      components.refresh();
      configure_protocol_logs(protocol_logs, settings);
      end_drained_sessions(components, settings, sessions);
    }
  });
  ::pthread_setname_np(watcher.native_handle(), "postern-watch");
  auto status = fmt::format("serving from {}: {}", cfg.data_dir, base::join(node.listening, ", "));
  // Said once the signals are handled too: from here SIGTERM is the
  // graceful shutdown and SIGHUP a reload.
  server.on_started([&status, &cfg, threads] {
    observe::log(observe::level::info, "node", "", "serving from {} with {} I/O threads",
                 cfg.data_dir, threads);
    observe::notify_ready(status);
  });
  server.on_shutdown(
      [] { observe::notify_stopping("stopping: sessions finish their command and say goodbye"); });
  server.on_hangup([&node, &status, &cfg] {
    // Settings are live already (the directory); SIGHUP (systemctl reload)
    // reloads what the files hold: certificates and keys. What else changed
    // in postern.toml is said, so nobody waits for a reload that needs a
    // restart.
    observe::notify_reloading();
    observe::log(observe::level::info, "node", "", "SIGHUP: reloading certificates");
    reload_certificates(node);  // logs each reload, and a refusal with its reason
    if (auto now = load_config(cfg.path); !now)
      observe::log(observe::level::error, "node", "",
                   "{} has an error now: {}; the running node keeps the configuration it started "
                   "with",
                   cfg.path, now.err().message);
    else if (auto changed = needs_restart(cfg, *now); !changed.empty())
      observe::log(observe::level::warning, "node", "",
                   "{}: {} changed; that takes a restart (systemctl restart postern)", cfg.path,
                   changed);
    observe::log(observe::level::info, "node", "",
                 "SIGHUP: reload done (protocol settings are live and need none)");
    observe::notify_ready(status);
  });
  server.run(cfg.shutdown_timeout);
  health.stop();
  if (relay) relay->stop();
  retention.stop();
  indexer.stop();
  watching = false;
  watcher.join();
  observe::log(observe::level::info, "node", "", "stopped");
  return ex_ok;
}

}  // namespace postern::admin
