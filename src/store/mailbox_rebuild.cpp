// The last resort of `postern mailbox repair`: an index SQLite cannot repair
// in place (a damaged table, not only an index) is rebuilt from what it still
// reads and from the message files. UIDs cannot be trusted any more, so every
// folder gets a new UIDVALIDITY (RFC 9051 §2.3.1.1: clients then forget
// their caches and download again) and the report says so. No message file is
// lost: a file the damaged index no longer names goes to the folder Recovered,
// and the damaged folder stays beside the new one (its files are hard links,
// so it costs no space until the administrator removes it).
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <set>

#include "base/files.hpp"
#include "base/strings.hpp"
#include "store/blob_file.hpp"
#include "store/canonical.hpp"
#include "store/sqlite_mailbox.hpp"

namespace postern::store {

namespace {

constexpr const char* recovered_folder = "Recovered";
// Messages linked per transaction.
constexpr size_t rebuild_batch = 100;

struct salvaged_message {
  std::string folder;
  uint64_t blob = 0;
  uint32_t flags = 0;
  std::vector<std::string> keywords;
  int64_t internal_date = 0;
};

// Size and lines starting with '.' of a message file (POP3 byte-stuffs them).
bool file_facts(int fd, uint64_t& size, uint32_t& dot_lines) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  size = static_cast<uint64_t>(st.st_size);
  dot_lines = 0;
  if (size == 0) return true;
  void* data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (data == MAP_FAILED) return false;
  dot_lines = count_dot_lines(std::string_view(static_cast<const char*>(data), size));
  ::munmap(data, size);
  return true;
}

}  // namespace

base::result<check_report> sqlite_mailbox::rebuild(int64_t user_id, const std::string& root) {
  check_report rep;
  const std::string index = root + "/index.sqlite";

  // 1. What the damaged index still reads; each query stops at the first
  // damaged page, keeping the rows before it.
  std::map<int64_t, std::pair<std::string, std::string>> folders;  // id -> name, special use
  std::vector<salvaged_message> messages;
  int64_t highest_validity = 0;
  bool messages_complete = false;
  // Kept open while the messages are placed: a message kept in the index is
  // read from it one at a time, so memory stays at one message however many.
  auto damaged_db = db::database::open(index, false);
  if (auto& db = damaged_db) {
    if (auto st = db->prepare("SELECT id, name, special_use, uidvalidity FROM folders"))
      while (st->step() == db::step_result::row) {
        folders[st->int64(0)] = {st->text(1), st->text(2)};
        highest_validity = std::max(highest_validity, st->int64(3));
      }
    if (auto st = db->prepare("SELECT value FROM counters WHERE name = 'uidvalidity'"))
      if (st->step() == db::step_result::row)
        highest_validity = std::max(highest_validity, st->int64(0));
    if (auto st =
            db->prepare("SELECT folder_id, blob, flags, keywords, internal_date FROM messages "
                        "ORDER BY folder_id, uid")) {
      for (;;) {
        auto r = st->step();
        messages_complete = r == db::step_result::done;
        if (r != db::step_result::row) break;
        auto f = folders.find(st->int64(0));
        if (f == folders.end()) continue;
        salvaged_message m;
        m.folder = f->second.first;
        m.blob = static_cast<uint64_t>(st->int64(1));
        m.flags = static_cast<uint32_t>(st->int64(2));
        for (auto& k : base::split(st->text(3), ' '))
          if (!k.empty()) m.keywords.emplace_back(k);
        m.internal_date = st->int64(4);
        messages.push_back(std::move(m));
      }
    }
  }

  // 2. A new mailbox beside the old one.
  const std::string fresh_root = root + ".rebuild";
  std::error_code ec;
  std::filesystem::remove_all(fresh_root, ec);
  auto fresh = sqlite_mailbox::open(user_id, fresh_root);
  if (!fresh) return fresh.err();
  auto& mb = **fresh;
  {
    // Above every UIDVALIDITY the damaged index handed out, so no client can
    // mistake a new UID for an old one.
    std::lock_guard lock(mb.db_mu_);
    auto floor = std::max<int64_t>(highest_validity, static_cast<uint32_t>(::time(nullptr)));
    auto put =
        mb.db_.prepare("INSERT OR REPLACE INTO counters(name, value) VALUES('uidvalidity', ?)");
    if (!put) return put.err();
    put->bind(1, floor + 100);
    if (put->step() != db::step_result::done) return mb.db_.error_of("recording UIDVALIDITY");
    auto bump = mb.db_.prepare("UPDATE folders SET uidvalidity = ? + id");
    if (!bump) return bump.err();
    bump->bind(1, floor);
    if (bump->step() != db::step_result::done) return mb.db_.error_of("setting UIDVALIDITY");
  }
  for (auto& [id, f] : folders) {
    auto made = mb.create_folder(f.first, f.second);
    if (!made && made.err().code != base::errc::already_exists &&
        made.err().code != base::errc::cannot)
      return made.err();
  }

  // 3. The messages, in their folders and UID order, then the files no
  // salvaged row named.
  std::vector<salvaged_message> orphans;
  {
    std::set<uint64_t> named;
    for (auto& m : messages) named.insert(m.blob);
    for (auto& e : std::filesystem::directory_iterator(root + "/blobs", ec)) {
      auto name = e.path().filename().string();
      if (name.size() != 16 || name.find_first_not_of("0123456789abcdef") != std::string::npos)
        continue;
      uint64_t id = std::stoull(name, nullptr, 16);
      if (named.count(id)) continue;
      struct stat st {};
      salvaged_message m;
      m.folder = recovered_folder;
      m.blob = id;
      m.internal_date = ::stat(e.path().c_str(), &st) == 0 ? st.st_mtime : 0;
      orphans.push_back(std::move(m));
    }
    if (!orphans.empty()) {
      auto made = mb.create_folder(recovered_folder, "");
      if (!made && made.err().code != base::errc::already_exists) return made.err();
    }
  }
  size_t kept = 0, recovered = 0, lost = 0;
  auto place = [&](std::span<const salvaged_message> group) -> base::status {
    // Files are linked (no copy); messages kept in the index are appended.
    std::vector<spool_file> files;
    std::vector<spooled_message> batch;
    std::vector<std::vector<std::string>> keywords;
    files.reserve(group.size());
    for (auto& m : group) {
      if (kept_inline(m.blob)) {
        auto read = damaged_db ? damaged_db->prepare("SELECT bytes FROM inline_blobs WHERE id = ?")
                               : base::result<db::statement>(damaged_db.err());
        if (!read) {
          ++lost;
          continue;
        }
        read->bind(1, static_cast<int64_t>(m.blob & ~kept_inline_bit));
        if (read->step() != db::step_result::row) {
          ++lost;
          continue;
        }
        std::string bytes(read->bytes(0));
        new_message msg{bytes, m.internal_date, m.flags};
        auto uid = mb.append(m.folder, msg);
        if (!uid) return uid.err();
        ++(m.folder == recovered_folder ? recovered : kept);
        continue;
      }
      auto path = fmt::format("{}/blobs/{}", root, blob_name(m.blob));
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      spooled_message s;
      if (fd < 0 || !file_facts(fd, s.size, s.dot_lines)) {
        if (fd >= 0) ::close(fd);
        ++lost;
        continue;
      }
      files.emplace_back(fd, path);
      s.internal_date = m.internal_date;
      s.flags = m.flags;
      batch.push_back(s);
      keywords.push_back(m.keywords);
    }
    for (size_t i = 0; i < batch.size(); ++i) batch[i].file = &files[i];
    base::status result = base::ok_status();
    if (!batch.empty()) {
      auto done = mb.append_files(group.front().folder, batch, keywords);
      if (!done)
        result = done.err();
      else
        (group.front().folder == recovered_folder ? recovered : kept) += batch.size();
    }
    // The damaged folder keeps its names: never unlink them.
    for (auto& f : files) f.path.clear();
    return result;
  };
  auto place_all = [&](const std::vector<salvaged_message>& list) -> base::status {
    for (size_t i = 0; i < list.size();) {
      size_t j = i;
      while (j < list.size() && j - i < rebuild_batch && list[j].folder == list[i].folder) ++j;
      if (auto s = place(std::span(list).subspan(i, j - i)); !s) return s;
      i = j;
    }
    return base::ok_status();
  };
  if (auto s = place_all(messages); !s) return s.err();
  if (auto s = place_all(orphans); !s) return s.err();
  fresh->reset();                                           // closes the new index before it moves
  damaged_db = base::error{base::errc::not_found, "", ""};  // and the damaged one

  // 4. The swap: the damaged folder is kept beside the new one.
  char stamp[32];
  auto now = ::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  auto damaged = fmt::format("{}.damaged-{}", root, stamp);
  if (::rename(root.c_str(), damaged.c_str()) != 0)
    return base::error{base::errc::io_error,
                       fmt::format("cannot move {} to {}: {}", root, damaged, std::strerror(errno)),
                       root};
  if (::rename(fresh_root.c_str(), root.c_str()) != 0) {
    int err = errno;
    ::rename(damaged.c_str(), root.c_str());
    return base::error{
        base::errc::io_error,
        fmt::format("cannot move {} to {}: {}", fresh_root, root, std::strerror(err)), root};
  }

  rep.uidvalidity_changed = true;
  rep.folders = folders.size();
  rep.messages = kept + recovered;
  rep.findings.push_back(
      {"index", "", 0,
       fmt::format("{} is damaged beyond an in-place repair; {} of its message rows were still "
                   "readable{}",
                   index, messages.size(), messages_complete ? " (all of them)" : ""),
       fmt::format("rebuilt: {} message(s) kept their folders and flags, {} file(s) no readable "
                   "row named are in the folder {}, {} could not be read; every folder has a "
                   "new UIDVALIDITY; the damaged copy is {} (remove it once you are satisfied)",
                   kept, recovered, recovered_folder, lost, damaged)});
  return rep;
}

}  // namespace postern::store
