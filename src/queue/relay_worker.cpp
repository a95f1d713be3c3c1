#include "queue/relay_worker.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <optional>

#include "base/strings.hpp"
#include "observe/log.hpp"

namespace postern::queue {

namespace {

// Reports quote at most this much of the original header, and return a whole
// message (RET=FULL) only up to this size.
constexpr size_t max_quoted_header = 64 * 1024;
constexpr uint64_t max_returned_message = 10 * 1024 * 1024;
// Recipients a turn takes at most (the rest wait for the next turn).
constexpr size_t batch_limit = 200;

int64_t unix_now() { return static_cast<int64_t>(::time(nullptr)); }

base::result<std::string> read_password(const relay_config& cfg) {
  if (cfg.password_file.empty()) return std::string();
  int fd = ::open(cfg.password_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return base::error{base::errc::io_error,
                       fmt::format("cannot read [relay] password_file {}: {}", cfg.password_file,
                                   std::strerror(errno)),
                       ""};
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 && out.size() < 64 * 1024)
    out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

// The original header (to its blank line), or the whole message for RET=FULL.
std::string original_of(const std::string& path, bool full, uint64_t size, bool& is_full) {
  is_full = full && size <= max_returned_message;
  size_t want = is_full ? static_cast<size_t>(size) : max_quoted_header;
  std::string out(want, '\0');
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  auto n = ::pread(fd, out.data(), want, 0);
  ::close(fd);
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  if (!is_full) {
    auto end = out.find("\r\n\r\n");
    if (end != std::string::npos) out.resize(end + 2);
  }
  return out;
}

const char* kind_name(dsn_request::kind k) {
  switch (k) {
    case dsn_request::kind::failed:
      return "failure";
    case dsn_request::kind::delayed:
      return "delay";
    case dsn_request::kind::delivered:
      return "delivery";
    case dsn_request::kind::relayed:
      return "relay";
  }
  return "status";
}

std::string duration_words(std::chrono::seconds s) {
  auto n = s.count();
  if (n % 86400 == 0 && n >= 86400) return fmt::format("{}d", n / 86400);
  if (n % 3600 == 0 && n >= 3600) return fmt::format("{}h", n / 3600);
  if (n % 60 == 0 && n >= 60) return fmt::format("{}min", n / 60);
  return fmt::format("{}s", n);
}

}  // namespace

std::chrono::seconds retry_delay(uint32_t attempts) {
  // 1 min after the first failure, doubling, never more than an hour.
  int64_t s = 60;
  for (uint32_t i = 1; i < attempts && s < 3600; ++i) s *= 2;
  return std::chrono::seconds(std::min<int64_t>(s, 3600));
}

relay_worker::relay_worker(queue_store& q, relay_config cfg, std::string hostname,
                           std::function<queue_policy()> policy, report_sink reports)
    : q_(q),
      cfg_(std::move(cfg)),
      hostname_(std::move(hostname)),
      policy_(std::move(policy)),
      reports_(std::move(reports)) {}

relay_worker::~relay_worker() { stop(); }

void relay_worker::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { loop(); });
  ::pthread_setname_np(thread_.native_handle(), "postern-relay");
}

void relay_worker::stop() {
  {
    // A relay that stopped answering would hold the node's shutdown for the
    // SMTP timeouts: every connection in use is cut, and what was in flight
    // is deferred to the next start.
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (auto* s : live_sessions_) s->interrupt();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& d : domain_threads_)
    if (d.thread.joinable()) d.thread.join();
  domain_threads_.clear();
}

void relay_worker::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void relay_worker::loop() {
  while (true) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(1), [this] { return woken_ || stopping_; });
      if (stopping_) return;
      woken_ = false;
    }
    turn();
  }
}

void relay_worker::turn() {
  // Join the domains that finished, so their threads do not pile up.
  std::erase_if(domain_threads_, [](domain_thread& d) {
    if (!d.done->load()) return false;
    d.thread.join();
    return true;
  });
  auto due = q_.due(unix_now(), batch_limit);
  if (!due) {
    observe::log(observe::level::error, "queue", "", "reading the outbound queue failed: {} ({})",
                 due.err().message, due.err().detail);
    return;
  }
  std::map<std::string, std::vector<queued_message>> by_domain;
  for (auto& m : *due) {
    auto domain = m.recipients.front().domain;
    by_domain[domain].push_back(std::move(m));
  }
  for (auto& [domain, batch] : by_domain) {
    {
      std::lock_guard lock(mu_);
      if (busy_domains_.contains(domain) || busy_domains_.size() >= max_parallel_domains) continue;
      busy_domains_.insert(domain);
    }
    auto done = std::make_shared<std::atomic<bool>>(false);
    auto d = domain;
    domain_threads_.push_back({std::thread([this, d, done, b = std::move(batch)]() mutable {
                                 relay_domain(std::move(b));
                                 {
                                   std::lock_guard lock(mu_);
                                   busy_domains_.erase(d);
                                 }
                                 done->store(true);
                                 wake();  // what waited for this domain may go now
                               }),
                               done});
  }
  if (auto gone = q_.collect_finished(); !gone)
    observe::log(observe::level::error, "queue", "", "clearing finished messages failed: {}",
                 gone.err().message);
  if (auto st = q_.stats(); st && st->messages != last_logged_depth_) {
    last_logged_depth_ = st->messages;
    observe::log(observe::level::info, "queue", "",
                 "outbound queue: {} message(s), {} recipient(s) waiting; oldest queued {} s ago",
                 st->messages, st->recipients, st->oldest ? unix_now() - st->oldest : 0);
  }
}

void relay_worker::relay_domain(std::vector<queued_message> batch) {
  // Read at each batch, so a rotated password needs no restart.
  auto password = read_password(cfg_);
  size_t lanes = std::min(connections_per_domain, batch.size());
  std::vector<std::thread> more;
  for (size_t i = 1; i < lanes; ++i)
    more.emplace_back([this, &batch, i, lanes, &password] { lane(batch, i, lanes, password); });
  lane(batch, 0, lanes, password);
  for (auto& t : more) t.join();
}

void relay_worker::lane(const std::vector<queued_message>& batch, size_t first, size_t step,
                        const base::result<std::string>& password) {
  std::optional<relay_session> session;
  if (password) session.emplace(cfg_, *password, hostname_);
  struct registration {
    relay_worker& w;
    relay_session* s;
    ~registration() {
      if (!s) return;
      std::lock_guard lock(w.mu_);
      w.live_sessions_.erase(s);
    }
  } registered{*this, session ? &*session : nullptr};
  if (session) {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    live_sessions_.insert(&*session);
  }
  for (size_t i = first; i < batch.size(); i += step) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    handle(batch[i], session ? &*session : nullptr, password ? "" : password.err().message);
  }
}

void relay_worker::handle(const queued_message& m, relay_session* session, const std::string& why) {
  auto policy = policy_();
  relay_attempt attempt;
  if (!session) {
    for (auto& r : m.recipients) attempt.outcomes.push_back({r.id, 0, why});
  } else {
    attempt = session->send(m, q_.message_path(m.id));
  }
  auto now = unix_now();
  bool expired = now - m.created >= policy.lifetime.count();
  std::vector<dsn_recipient> failed, relayed;
  bool still_queued = false;
  for (auto& o : attempt.outcomes) {
    auto it = std::find_if(m.recipients.begin(), m.recipients.end(),
                           [&](auto& r) { return r.id == o.recipient_id; });
    if (it == m.recipients.end()) continue;
    auto& r = *it;
    base::status recorded = base::ok_status();
    if (o.code >= 200 && o.code < 300) {
      recorded = q_.record(r.id, "sent", o.reply, 0);
      ++sent_;
      if (!attempt.relay_does_dsn) relayed.push_back({r.address, r.orcpt, "2.0.0", o.reply});
      observe::log(observe::level::info, "queue", m.id, "relayed {} from <{}> to <{}> via {}: {}",
                   m.message_id, m.sender, r.address, attempt.remote, o.reply);
    } else if (o.code >= 500 || expired) {
      auto words = o.code >= 500 ? o.reply
                                 : fmt::format(
                                       "{}; gave up after {} attempt(s): queued longer "
                                       "than queue_lifetime ({})",
                                       o.reply, r.attempts + 1, duration_words(policy.lifetime));
      recorded = q_.record(r.id, "failed", words, 0);
      ++failed_;
      failed.push_back(
          {r.address, r.orcpt, o.code >= 500 ? status_of(o.code, o.reply) : "4.4.7", words});
      observe::log(observe::level::warning, "queue", m.id,
                   "bounced {} from <{}> to <{}> via {}: {}", m.message_id, m.sender, r.address,
                   attempt.remote, words);
    } else {
      auto wait = retry_delay(r.attempts + 1);
      recorded = q_.record(r.id, "queued", o.reply, now + wait.count());
      ++deferred_;
      still_queued = true;
      observe::log(observe::level::warning, "queue", m.id,
                   "deferred {} from <{}> to <{}> via {}: {}; attempt {} failed, next in {}",
                   m.message_id, m.sender, r.address, attempt.remote, o.reply, r.attempts + 1,
                   duration_words(wait));
    }
    if (!recorded)
      observe::log(observe::level::error, "queue", m.id,
                   "recording the outcome for <{}> failed: {} (it will be tried again)", r.address,
                   recorded.err().message);
  }
  if (!failed.empty()) report(m, dsn_request::kind::failed, failed, attempt.remote, now, 0);
  if (!relayed.empty()) report(m, dsn_request::kind::relayed, relayed, attempt.remote, now, 0);
  if (still_queued && !m.warned && now - m.created >= policy.delay_warning.count()) {
    std::vector<dsn_recipient> waiting;
    for (auto& o : attempt.outcomes)
      if (o.code < 500 && (o.code < 200 || o.code >= 300))
        for (auto& r : m.recipients)
          if (r.id == o.recipient_id)
            waiting.push_back({r.address, r.orcpt, status_of(o.code, o.reply), o.reply});
    if (!waiting.empty())
      report(m, dsn_request::kind::delayed, waiting, attempt.remote, now,
             m.created + policy.lifetime.count());
    (void)q_.set_warned(m.id);
  }
}

void relay_worker::report(const queued_message& m, dsn_request::kind kind,
                          const std::vector<dsn_recipient>& who, const std::string& remote,
                          int64_t now, int64_t retry_until) {
  // RFC 3461 §5.2: never a report about a report (the null sender); and
  // only for recipients whose NOTIFY asks for it.
  if (m.sender.empty()) return;
  bool failed = kind == dsn_request::kind::failed;
  dsn_request req;
  req.what = kind;
  req.reporting_host = hostname_;
  req.remote = remote;
  req.message = &m;
  for (auto& w : who) {
    auto it = std::find_if(m.recipients.begin(), m.recipients.end(),
                           [&](auto& r) { return r.address == w.address; });
    if (it == m.recipients.end() || wants_report(it->notify, kind)) req.recipients.push_back(w);
  }
  if (req.recipients.empty()) return;
  req.now = now;
  req.retry_until = retry_until;
  bool full = false;
  req.original = original_of(q_.message_path(m.id), failed && m.ret == "FULL", m.size, full);
  req.original_is_full = full;
  auto text = make_dsn(req);
  auto sent = reports_(m, std::move(text));
  if (!sent) {
    observe::log(observe::level::error, "queue", m.id,
                 "the {} report to <{}> could not be delivered: {}", kind_name(kind), m.sender,
                 sent.err().message);
    return;
  }
  ++reports_sent_;
  observe::log(observe::level::info, "queue", m.id, "{} report sent to <{}> for {} recipient(s)",
               kind_name(kind), m.sender, req.recipients.size());
}

std::vector<observe::sample> relay_worker::samples() {
  std::vector<observe::sample> out;
  auto st = q_.stats();
  if (st) {
    out.push_back({"postern_queue_messages",
                   "gauge",
                   "messages in the outbound queue with a recipient still waiting",
                   {},
                   static_cast<double>(st->messages)});
    out.push_back({"postern_queue_recipients",
                   "gauge",
                   "recipients waiting in the outbound queue",
                   {},
                   static_cast<double>(st->recipients)});
    out.push_back({"postern_queue_oldest_seconds",
                   "gauge",
                   "age of the oldest message in the outbound queue (0 when empty)",
                   {},
                   st->oldest ? static_cast<double>(unix_now() - st->oldest) : 0.0});
  }
  const std::pair<const char*, uint64_t> results[] = {
      {"sent", sent_.load()}, {"deferred", deferred_.load()}, {"failed", failed_.load()}};
  for (auto [result, n] : results)
    out.push_back({"postern_relay_attempts",
                   "counter",
                   "relay outcomes per recipient: sent, deferred (retried) or failed (bounced)",
                   {{"result", result}},
                   static_cast<double>(n)});
  out.push_back({"postern_queue_reports",
                 "counter",
                 "delivery status notifications sent (bounces and delay warnings)",
                 {},
                 static_cast<double>(reports_sent_.load())});
  return out;
}

}  // namespace postern::queue
