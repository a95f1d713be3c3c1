#include "observe/protocol_log.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/files.hpp"
#include "base/strings.hpp"
#include "observe/log.hpp"

namespace postern::observe {

namespace {

std::string utc_millis(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::floor<std::chrono::milliseconds>(t);
  auto s = std::chrono::floor<std::chrono::seconds>(ms);
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z", s, (ms - s).count());
}

std::string day_of(std::chrono::system_clock::time_point t) {
  return fmt::format("{:%Y%m%d}", std::chrono::floor<std::chrono::seconds>(t));
}

// Keeps the store's room: a log line is dropped rather than written into the
// last 64 MiB (or 1 %) of the disk.
bool disk_has_room(const std::string& dir) {
  struct statvfs fs {};
  if (::statvfs(dir.c_str(), &fs) != 0) return true;
  uint64_t free_bytes = uint64_t{fs.f_bavail} * fs.f_frsize;
  uint64_t total = uint64_t{fs.f_blocks} * fs.f_frsize;
  return free_bytes > std::max<uint64_t>(64ull << 20, total / 100);
}

}  // namespace

std::string csv_field(std::string_view v) {
  // Arguments come already escaped (base::printable); only what could end a
  // line or confuse a reader is escaped here, so nothing is escaped twice.
  static const char hex[] = "0123456789abcdef";
  std::string text;
  for (unsigned char c : v.substr(0, 1000)) {
    if (c >= 0x20 && c != 0x7f) {
      text += static_cast<char>(c);
    } else {
      text += "\\x";
      text += hex[c >> 4];
      text += hex[c & 15];
    }
  }
  bool quote = text.find_first_of(",\"") != std::string::npos ||
               (!text.empty() && (text.front() == ' ' || text.back() == ' '));
  if (!quote) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string format_line(const protocol_log_line& l) {
  return fmt::format("{},{},{},{},{},{},{},{},{},{},{},{}\r\n", utc_millis(l.time),
                     csv_field(l.session_id), l.seq, csv_field(l.server), csv_field(l.client),
                     csv_field(l.user), l.duration_ms, l.request_bytes, l.reply_bytes,
                     csv_field(l.command), csv_field(l.parameters), csv_field(l.context));
}

struct protocol_log::stream {
  std::string protocol;  // "pop3"
  std::string dir;       // root/pop3
  protocol_log_limits limits;
  std::atomic<bool> enabled{false};
  std::deque<std::string> queue;  // guarded by mu_
  size_t queued_bytes = 0;        // guarded by mu_
  // The writer thread's own:
  int fd = -1;
  std::string day;
  std::string path;
  uint64_t file_size = 0;
  std::chrono::steady_clock::time_point last_prune{};
  std::chrono::steady_clock::time_point last_room_check{};
  bool room = true;
};

protocol_log::protocol_log(std::string root, size_t queue_bytes)
    : root_(std::move(root)), queue_bytes_(queue_bytes) {
  writer_ = std::thread([this] { run(); });
}

protocol_log::~protocol_log() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  writer_.join();
  for (auto& [name, s] : streams_) {
    if (s->fd >= 0) ::close(s->fd);
    delete s;
  }
}

void protocol_log::configure(std::string_view protocol, const protocol_log_limits& limits) {
  std::lock_guard lock(mu_);
  auto it = streams_.find(protocol);
  if (it == streams_.end()) {
    auto* s = new stream;
    s->protocol = std::string(protocol);
    s->dir = root_ + "/" + s->protocol;
    it = streams_.emplace(s->protocol, s).first;
  }
  it->second->limits = limits;
  it->second->enabled.store(limits.enabled, std::memory_order_relaxed);
  bool any = false;
  for (auto& [name, s] : streams_) any = any || s->limits.enabled;
  any_enabled_.store(any, std::memory_order_relaxed);
}

bool protocol_log::enabled(std::string_view protocol) const {
  if (!any_enabled()) return false;
  std::lock_guard lock(mu_);
  auto it = streams_.find(protocol);
  return it != streams_.end() && it->second->enabled.load(std::memory_order_relaxed);
}

bool protocol_log::append(std::string_view protocol, std::string line) {
  {
    std::lock_guard lock(mu_);
    auto it = streams_.find(protocol);
    if (it == streams_.end() || !it->second->limits.enabled) return false;
    auto& s = *it->second;
    if (s.queued_bytes + line.size() > queue_bytes_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    s.queued_bytes += line.size();
    s.queue.push_back(std::move(line));
    ++queued_generation_;
  }
  wake_.notify_one();
  return true;
}

void protocol_log::flush() {
  std::unique_lock lock(mu_);
  auto target = queued_generation_;
  idle_.wait(lock, [&] { return written_generation_ >= target || stopping_; });
}

void protocol_log::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    auto pending = [&] {
      for (auto& [name, s] : streams_)
        if (!s->queue.empty()) return true;
      return false;
    };
    wake_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_ || pending(); });
    std::vector<std::pair<stream*, std::vector<std::string>>> work;
    for (auto& [name, s] : streams_) {
      std::vector<std::string> lines(std::make_move_iterator(s->queue.begin()),
                                     std::make_move_iterator(s->queue.end()));
      s->queue.clear();
      s->queued_bytes = 0;
      work.emplace_back(s, std::move(lines));
    }
    auto generation = queued_generation_;
    bool stop = stopping_;
    lock.unlock();
    for (auto& [s, lines] : work) {
      if (!lines.empty()) write_batch(*s, lines);
      if (std::chrono::steady_clock::now() - s->last_prune > std::chrono::seconds(60)) prune(*s);
    }
    lock.lock();
    written_generation_ = generation;
    idle_.notify_all();
    if (stop && !pending()) return;
  }
}

void protocol_log::open_file(stream& s, std::chrono::system_clock::time_point now) {
  if (s.fd >= 0) ::close(s.fd);
  s.fd = -1;
  if (auto made = base::make_directories(s.dir); !made) {
    log_limited("protocol log dir", level::error, "protocol-log", "", "cannot create {}: {}", s.dir,
                made.err().message);
    return;
  }
  s.day = day_of(now);
  auto prefix = fmt::format("{}-{}-", base::to_upper(s.protocol), s.day);
  // Go on with today's newest file while it has room, else start the next.
  int newest = 0;
  if (DIR* d = ::opendir(s.dir.c_str())) {
    while (auto* e = ::readdir(d)) {
      std::string_view name(e->d_name);
      if (!name.starts_with(prefix) || !name.ends_with(".LOG")) continue;
      auto n = base::parse_u64(name.substr(prefix.size(), name.size() - prefix.size() - 4));
      if (n && static_cast<int>(*n) > newest) newest = static_cast<int>(*n);
    }
    ::closedir(d);
  }
  for (int n = std::max(newest, 1);; ++n) {
    s.path = fmt::format("{}/{}{}.LOG", s.dir, prefix, n);
    struct stat st {};
    uint64_t size = ::stat(s.path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
    if (size + 1024 >= s.limits.max_file_size && n < 100000) continue;
    s.fd = ::open(s.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (s.fd < 0) {
      log_limited("protocol log open", level::error, "protocol-log", "", "cannot open {}: {}",
                  s.path, std::strerror(errno));
      return;
    }
    s.file_size = size;
    if (size == 0) {
      auto header = fmt::format(
          "#Software: Postern {}\r\n#Version: 15.0.0.0\r\n#Log-type: {} Protocol Log\r\n"
          "#Date: {}\r\n#Fields: {}\r\n",
          POSTERN_VERSION, base::to_upper(s.protocol), utc_millis(now), protocol_log_fields);
      if (::write(s.fd, header.data(), header.size()) == static_cast<ssize_t>(header.size()))
        s.file_size = header.size();
    }
    break;
  }
  prune(s);
}

void protocol_log::write_batch(stream& s, std::vector<std::string>& lines) {
  auto now = std::chrono::system_clock::now();
  auto steady = std::chrono::steady_clock::now();
  if (steady - s.last_room_check > std::chrono::seconds(5)) {
    s.last_room_check = steady;
    s.room = disk_has_room(root_);
  }
  if (!s.room) {
    dropped_.fetch_add(lines.size(), std::memory_order_relaxed);
    log_limited("protocol log room", level::warning, "protocol-log", "",
                "{} protocol log: the disk under {} is nearly full; dropping lines (counted) "
                "so the mail store keeps its room",
                s.protocol, root_);
    return;
  }
  std::string chunk;
  auto write_chunk = [&]() {
    if (chunk.empty()) return true;
    auto n = ::write(s.fd, chunk.data(), chunk.size());
    if (n != static_cast<ssize_t>(chunk.size())) {
      log_limited("protocol log write", level::error, "protocol-log", "",
                  "cannot write {}: {}; dropping lines (counted)", s.path,
                  n < 0 ? std::strerror(errno) : "short write");
      ::close(s.fd);
      s.fd = -1;
      return false;
    }
    s.file_size += chunk.size();
    return true;
  };
  size_t in_chunk = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    auto& line = lines[i];
    bool roll = s.fd < 0 || s.day != day_of(now) ||
                s.file_size + chunk.size() + line.size() > s.limits.max_file_size;
    if (roll) {
      if (!write_chunk()) {
        dropped_.fetch_add(lines.size() - i + in_chunk, std::memory_order_relaxed);
        return;
      }
      written_.fetch_add(in_chunk, std::memory_order_relaxed);
      chunk.clear();
      in_chunk = 0;
      open_file(s, now);
      if (s.fd < 0) {
        dropped_.fetch_add(lines.size() - i, std::memory_order_relaxed);
        return;
      }
    }
    chunk += line;
    ++in_chunk;
    if (chunk.size() >= 64 * 1024) {
      if (!write_chunk()) {
        dropped_.fetch_add(lines.size() - i - 1 + in_chunk, std::memory_order_relaxed);
        return;
      }
      written_.fetch_add(in_chunk, std::memory_order_relaxed);
      chunk.clear();
      in_chunk = 0;
    }
  }
  if (write_chunk())
    written_.fetch_add(in_chunk, std::memory_order_relaxed);
  else
    dropped_.fetch_add(in_chunk, std::memory_order_relaxed);
}

void protocol_log::prune(stream& s) {
  s.last_prune = std::chrono::steady_clock::now();
  struct file {
    std::string path;
    uint64_t size;
    time_t mtime;
  };
  std::vector<file> files;
  DIR* d = ::opendir(s.dir.c_str());
  if (!d) return;
  while (auto* e = ::readdir(d)) {
    std::string_view name(e->d_name);
    if (!name.ends_with(".LOG")) continue;
    auto path = s.dir + "/" + std::string(name);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    files.push_back({path, static_cast<uint64_t>(st.st_size), st.st_mtime});
  }
  ::closedir(d);
  // Oldest first: by modification time, then by name (day, then number).
  std::sort(files.begin(), files.end(), [](const file& a, const file& b) {
    return a.mtime != b.mtime ? a.mtime < b.mtime : a.path < b.path;
  });
  uint64_t total = 0;
  for (auto& f : files) total += f.size;
  auto cutoff = ::time(nullptr) - s.limits.max_age.count();
  size_t removed = 0;
  for (auto& f : files) {
    if (f.path == s.path && s.fd >= 0) continue;  // the file being written
    bool too_old = f.mtime < cutoff;
    if (!too_old && total <= s.limits.max_directory_size) continue;
    if (::unlink(f.path.c_str()) == 0) {
      total -= f.size;
      ++removed;
    }
  }
  if (removed)
    log(level::info, "protocol-log", "",
        "{} protocol log: removed {} old file(s) to stay under protocol_log_max_directory_size "
        "and protocol_log_max_age",
        s.protocol, removed);
}

}  // namespace postern::observe
