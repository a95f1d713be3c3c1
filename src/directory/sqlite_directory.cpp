#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <mutex>
#include <optional>

#include "base/files.hpp"
#include "base/strings.hpp"
#include "db/sqlite.hpp"
#include "directory/directory.hpp"

namespace postern::directory {

namespace {

constexpr const char* schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS users(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  address TEXT NOT NULL UNIQUE COLLATE NOCASE,
  password TEXT NOT NULL,
  created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS quotas(
  user_id INTEGER PRIMARY KEY,
  storage INTEGER NOT NULL,
  messages INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS disabled_protocols(
  user_id INTEGER NOT NULL,
  protocol TEXT NOT NULL,
  PRIMARY KEY(user_id, protocol)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS enabled_protocols(
  user_id INTEGER NOT NULL,
  protocol TEXT NOT NULL,
  PRIMARY KEY(user_id, protocol)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS roles(
  user_id INTEGER PRIMARY KEY,
  role TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS retention(
  user_id INTEGER NOT NULL,
  folder TEXT NOT NULL,
  seconds INTEGER NOT NULL,
  PRIMARY KEY(user_id, folder)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS component_states(
  component TEXT NOT NULL,
  requester TEXT NOT NULL,
  state TEXT NOT NULL,
  reason TEXT NOT NULL,
  since INTEGER NOT NULL,
  PRIMARY KEY(component, requester)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS aliases(
  alias TEXT PRIMARY KEY COLLATE NOCASE,
  user_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS send_grants(
  user_id INTEGER NOT NULL,
  address TEXT NOT NULL COLLATE NOCASE,
  kind TEXT NOT NULL,
  PRIMARY KEY(user_id, address)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS settings(
  protocol TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY(protocol, key)) WITHOUT ROWID;
)sql";

class sqlite_directory final : public directory {
 public:
  explicit sqlite_directory(db::database db) : db_(std::move(db)) {}

  base::result<user_record> find_user(std::string_view address) override {
    std::lock_guard lock(mu_);
    return find_locked(base::normalize_address(address));
  }

  base::result<user_record> add_user(std::string_view address, std::string_view hash) override {
    auto a = base::normalize_address(address);
    if (auto s = validate_address(a); !s) return s.err();
    std::lock_guard lock(mu_);
    if (find_locked(a))
      return base::error{base::errc::already_exists, fmt::format("user {} already exists", a), ""};
    auto st = db_.prepare("INSERT INTO users(address, password, created) VALUES(?, ?, ?)");
    if (!st) return st.err();
    st->bind(1, a).bind(2, hash).bind(3, static_cast<int64_t>(::time(nullptr)));
    if (st->step() != db::step_result::done) return db_.error_of("adding user");
    ++local_changes_;
    auto added = find_locked(a);
    if (!added) return added;
    for (auto [folder, seconds] : new_user_retention) {
      auto r =
          db_.prepare("INSERT OR REPLACE INTO retention(user_id, folder, seconds) VALUES(?, ?, ?)");
      if (!r) return r.err();
      r->bind(1, added->id).bind(2, folder).bind(3, seconds);
      if (r->step() != db::step_result::done) return db_.error_of("adding user");
    }
    return added;
  }

  base::status set_password(std::string_view address, std::string_view hash) override {
    auto a = base::normalize_address(address);
    std::lock_guard lock(mu_);
    auto st = db_.prepare("UPDATE users SET password = ? WHERE address = ?");
    if (!st) return st.err();
    st->bind(1, hash).bind(2, a);
    if (st->step() != db::step_result::done) return db_.error_of("changing password");
    if (db_.changes() == 0) return no_such_user(a);
    ++local_changes_;
    return base::ok_status();
  }

  base::result<user_record> remove_user(std::string_view address) override {
    auto a = base::normalize_address(address);
    std::lock_guard lock(mu_);
    auto u = find_locked(a);
    if (!u) return u.err();
    for (auto sql :
         {"DELETE FROM quotas WHERE user_id = ?",
          "DELETE FROM disabled_protocols WHERE user_id = ?",
          "DELETE FROM retention WHERE user_id = ?",
          "DELETE FROM enabled_protocols WHERE user_id = ?", "DELETE FROM roles WHERE user_id = ?",
          "DELETE FROM aliases WHERE user_id = ?", "DELETE FROM send_grants WHERE user_id = ?",
          "DELETE FROM users WHERE id = ?"}) {
      auto st = db_.prepare(sql);
      if (!st) return st.err();
      st->bind(1, u->id);
      if (st->step() != db::step_result::done) return db_.error_of("removing user");
    }
    ++local_changes_;
    return u;
  }

  base::result<std::vector<user_record>> list_users() override {
    std::lock_guard lock(mu_);
    auto st = db_.prepare(fmt::format("{} ORDER BY address", user_select));
    if (!st) return st.err();
    std::vector<user_record> out;
    db::step_result r;
    while ((r = st->step()) == db::step_result::row) out.push_back(record_of(*st));
    if (r == db::step_result::error) return db_.error_of("listing users");
    return out;
  }

  base::result<setting_map> settings(std::string_view protocol) override {
    std::lock_guard lock(mu_);
    auto st = db_.prepare("SELECT key, value FROM settings WHERE protocol = ?");
    if (!st) return st.err();
    st->bind(1, protocol);
    setting_map out;
    db::step_result r;
    while ((r = st->step()) == db::step_result::row) out[st->text(0)] = st->text(1);
    if (r == db::step_result::error) return db_.error_of("reading settings");
    return out;
  }

  base::result<std::string> set_setting(std::string_view protocol, std::string_view key,
                                        std::string_view value) override {
    auto v = validate_setting(protocol, key, value);
    if (!v) return v.err();
    std::lock_guard lock(mu_);
    auto st = db_.prepare(
        "INSERT INTO settings(protocol, key, value) VALUES(?, ?, ?)"
        " ON CONFLICT(protocol, key) DO UPDATE SET value = excluded.value");
    if (!st) return st.err();
    st->bind(1, protocol).bind(2, key).bind(3, *v);
    if (st->step() != db::step_result::done) return db_.error_of("storing setting");
    ++local_changes_;
    return v;
  }

  base::status set_quota(std::string_view address, uint64_t storage, uint64_t messages) override {
    auto a = base::normalize_address(address);
    std::lock_guard lock(mu_);
    auto u = find_locked(a);
    if (!u) return u.err();
    auto st = db_.prepare(
        "INSERT INTO quotas(user_id, storage, messages) VALUES(?, ?, ?) ON CONFLICT(user_id) DO "
        "UPDATE SET storage = excluded.storage, messages = excluded.messages");
    if (!st) return st.err();
    st->bind(1, u->id)
        .bind(2, static_cast<int64_t>(storage))
        .bind(3, static_cast<int64_t>(messages));
    if (st->step() != db::step_result::done) return db_.error_of("setting quota");
    ++local_changes_;
    return base::ok_status();
  }

  base::status set_protocol_enabled(std::string_view address, std::string_view protocol,
                                    bool enabled) override {
    if (std::find(std::begin(mailbox_protocols), std::end(mailbox_protocols), protocol) ==
        std::end(mailbox_protocols))
      return base::error{base::errc::invalid_argument,
                         fmt::format("'{}' is not a protocol a mailbox can be allowed "
                                     "(pop3, imap, submission)",
                                     base::printable(protocol, 40)),
                         ""};
    auto a = base::normalize_address(address);
    std::lock_guard lock(mu_);
    auto u = find_locked(a);
    if (!u) return u.err();
    // One of the two tables holds the decision; the other forgets it.
    const char* steps[] = {
        enabled ? "DELETE FROM disabled_protocols WHERE user_id = ? AND protocol = ?"
                : "DELETE FROM enabled_protocols WHERE user_id = ? AND protocol = ?",
        enabled ? "INSERT OR IGNORE INTO enabled_protocols(user_id, protocol) VALUES(?, ?)"
                : "INSERT OR IGNORE INTO disabled_protocols(user_id, protocol) VALUES(?, ?)"};
    for (auto sql : steps) {
      auto st = db_.prepare(sql);
      if (!st) return st.err();
      st->bind(1, u->id).bind(2, protocol);
      if (st->step() != db::step_result::done) return db_.error_of("changing protocol access");
    }
    ++local_changes_;
    return base::ok_status();
  }

  base::result<std::vector<retention_rule>> retention_rules() override {
    std::lock_guard lock(mu_);
    auto st =
        db_.prepare("SELECT user_id, folder, seconds FROM retention ORDER BY user_id, folder");
    if (!st) return st.err();
    std::vector<retention_rule> out;
    db::step_result r;
    while ((r = st->step()) == db::step_result::row)
      out.push_back({st->int64(0), st->text(1), st->int64(2)});
    if (r == db::step_result::error) return db_.error_of("reading retention rules");
    return out;
  }

  base::status set_retention(int64_t user_id, std::string_view folder, int64_t seconds) override {
    std::lock_guard lock(mu_);
    std::vector<std::pair<std::string, bool>> steps;  // sql, binds seconds
    if (seconds < 0) {
      steps.push_back({"DELETE FROM retention WHERE user_id = ? AND folder = ?", false});
    } else {
      if (user_id == 0)
        steps.push_back(
            {"DELETE FROM retention WHERE user_id <> 0 AND folder = ?2 AND ?1 = 0", false});
      steps.push_back(
          {"INSERT OR REPLACE INTO retention(user_id, folder, seconds) VALUES(?, ?, ?)", true});
    }
    for (auto& [sql, with_seconds] : steps) {
      auto st = db_.prepare(sql);
      if (!st) return st.err();
      st->bind(1, user_id).bind(2, folder);
      if (with_seconds) st->bind(3, seconds);
      if (st->step() != db::step_result::done) return db_.error_of("changing a retention rule");
    }
    ++local_changes_;
    return base::ok_status();
  }

  base::result<std::vector<component_record>> component_states() override {
    std::lock_guard lock(mu_);
    auto st = db_.prepare(
        "SELECT component, requester, state, reason, since FROM component_states ORDER BY "
        "component, requester");
    if (!st) return st.err();
    std::vector<component_record> out;
    db::step_result r;
    while ((r = st->step()) == db::step_result::row) {
      auto state = parse_component_state(st->text(2));
      out.push_back({st->text(0), st->text(1), state.value_or(component_state::inactive),
                     st->text(3), st->int64(4)});
    }
    if (r == db::step_result::error) return db_.error_of("reading component states");
    return out;
  }

  base::status set_component_state(const component_record& c) override {
    if (auto s = validate_component(c.component); !s) return s;
    if (auto s = validate_requester(c.requester); !s) return s;
    std::lock_guard lock(mu_);
    auto st =
        c.state == component_state::active
            ? db_.prepare("DELETE FROM component_states WHERE component = ? AND requester = ?")
            : db_.prepare(
                  "INSERT OR REPLACE INTO component_states(component, requester, state, "
                  "reason, since) VALUES(?, ?, ?, ?, ?)");
    if (!st) return st.err();
    st->bind(1, c.component).bind(2, c.requester);
    if (c.state != component_state::active)
      st->bind(3, state_name(c.state))
          .bind(4, c.reason)
          .bind(5, static_cast<int64_t>(::time(nullptr)));
    if (st->step() != db::step_result::done) return db_.error_of("changing a component state");
    ++local_changes_;
    return base::ok_status();
  }

  base::status add_alias(std::string_view address, std::string_view alias) override {
    auto a = base::normalize_address(address);
    auto al = base::normalize_address(alias);
    if (auto s = validate_address(al); !s) return s.err();
    std::lock_guard lock(mu_);
    auto u = find_locked(a);
    if (!u) return u.err();
    if (auto other = find_locked(al))
      return base::error{base::errc::already_exists,
                         fmt::format("{} is a mailbox of its own, not an alias", al), ""};
    auto owner = db_.prepare(
        "SELECT u.address FROM aliases a JOIN users u ON u.id = a.user_id WHERE a.alias = ?");
    if (!owner) return owner.err();
    owner->bind(1, al);
    if (owner->step() == db::step_result::row)
      return base::error{base::errc::already_exists,
                         fmt::format("{} is already an alias of {}", al, owner->text(0)), ""};
    auto st = db_.prepare("INSERT INTO aliases(alias, user_id) VALUES(?, ?)");
    if (!st) return st.err();
    st->bind(1, al).bind(2, u->id);
    if (st->step() != db::step_result::done) return db_.error_of("adding an alias");
    ++local_changes_;
    return base::ok_status();
  }

  base::status remove_alias(std::string_view address, std::string_view alias) override {
    auto a = base::normalize_address(address);
    auto al = base::normalize_address(alias);
    std::lock_guard lock(mu_);
    auto u = find_locked(a);
    if (!u) return u.err();
    auto st = db_.prepare("DELETE FROM aliases WHERE alias = ? AND user_id = ?");
    if (!st) return st.err();
    st->bind(1, al).bind(2, u->id);
    if (st->step() != db::step_result::done) return db_.error_of("removing an alias");
    if (db_.changes() == 0)
      return base::error{base::errc::not_found, fmt::format("{} has no alias {}", a, al), ""};
    ++local_changes_;
    return base::ok_status();
  }

  base::result<user_record> find_recipient(std::string_view address) override {
    auto a = base::normalize_address(address);
    std::lock_guard lock(mu_);
    auto u = find_locked(a);
    if (u || u.err().code != base::errc::not_found) return u;
    auto owner = db_.prepare(
        "SELECT u.address FROM aliases a JOIN users u ON u.id = a.user_id WHERE a.alias = ?");
    if (!owner) return owner.err();
    owner->bind(1, a);
    if (owner->step() != db::step_result::row) return u;
    return find_locked(owner->text(0));
  }

  base::result<bool> is_local_domain(std::string_view domain) override {
    std::lock_guard lock(mu_);
    auto st = db_.prepare(
        "SELECT 1 FROM users WHERE address LIKE '%@' || ?1 UNION ALL SELECT 1 FROM aliases WHERE "
        "alias LIKE '%@' || ?1 LIMIT 1");
    if (!st) return st.err();
    st->bind(1, base::to_lower(domain));
    return st->step() == db::step_result::row;
  }

  base::result<std::vector<std::string>> aliases(std::string_view address) override {
    auto a = base::normalize_address(address);
    std::lock_guard lock(mu_);
    auto u = find_locked(a);
    if (!u) return u.err();
    auto st = db_.prepare("SELECT alias FROM aliases WHERE user_id = ? ORDER BY alias");
    if (!st) return st.err();
    st->bind(1, u->id);
    std::vector<std::string> out;
    while (st->step() == db::step_result::row) out.push_back(st->text(0));
    return out;
  }

  base::status set_send_grant(std::string_view address, std::string_view other,
                              std::string_view kind) override {
    if (!kind.empty() && kind != "send_as" && kind != "send_on_behalf")
      return base::error{
          base::errc::invalid_argument,
          fmt::format("'{}' is not a grant (send_as, send_on_behalf)", base::printable(kind, 40)),
          ""};
    auto a = base::normalize_address(address);
    auto o = base::normalize_address(other);
    if (auto s = validate_address(o); !s) return s.err();
    std::lock_guard lock(mu_);
    auto u = find_locked(a);
    if (!u) return u.err();
    auto st =
        db_.prepare(kind.empty() ? "DELETE FROM send_grants WHERE user_id = ?1 AND address = ?2"
                                 : "INSERT OR REPLACE INTO send_grants(user_id, address, kind) "
                                   "VALUES(?1, ?2, ?3)");
    if (!st) return st.err();
    st->bind(1, u->id).bind(2, o);
    if (!kind.empty()) st->bind(3, kind);
    if (st->step() != db::step_result::done) return db_.error_of("changing a send grant");
    ++local_changes_;
    return base::ok_status();
  }

  base::result<std::string> send_grant(std::string_view address, std::string_view other) override {
    auto a = base::normalize_address(address);
    auto o = base::normalize_address(other);
    std::lock_guard lock(mu_);
    auto u = find_locked(a);
    if (!u) return u.err();
    // An alias of the user counts as the user's own address.
    auto al = db_.prepare("SELECT 1 FROM aliases WHERE alias = ? AND user_id = ?");
    if (!al) return al.err();
    al->bind(1, o).bind(2, u->id);
    if (al->step() == db::step_result::row) return std::string("alias");
    auto st = db_.prepare("SELECT kind FROM send_grants WHERE user_id = ? AND address = ?");
    if (!st) return st.err();
    st->bind(1, u->id).bind(2, o);
    if (st->step() == db::step_result::row) return st->text(0);
    return std::string();
  }

  base::status set_role(std::string_view address, std::string_view role) override {
    if (role != "user" && role != "admin")
      return base::error{base::errc::invalid_argument,
                         fmt::format("'{}' is not a role (user, admin)", base::printable(role, 40)),
                         ""};
    auto a = base::normalize_address(address);
    std::lock_guard lock(mu_);
    auto u = find_locked(a);
    if (!u) return u.err();
    auto st =
        db_.prepare(role == "user" ? "DELETE FROM roles WHERE user_id = ?1"
                                   : "INSERT OR REPLACE INTO roles(user_id, role) VALUES(?1, ?2)");
    if (!st) return st.err();
    st->bind(1, u->id);
    if (role != "user") st->bind(2, role);
    if (st->step() != db::step_result::done) return db_.error_of("changing a role");
    ++local_changes_;
    return base::ok_status();
  }

  uint64_t version() override {
    std::lock_guard lock(mu_);
    // data_version moves when another connection (the CLI) commits; our own
    // commits are counted locally.
    auto st = db_.prepare("PRAGMA data_version");
    uint64_t dv = 0;
    if (st && st->step() == db::step_result::row) dv = static_cast<uint64_t>(st->int64(0));
    return (dv << 32) + local_changes_;
  }

 private:
  base::error no_such_user(const std::string& a) {
    return base::error{base::errc::not_found, fmt::format("no user {} in the directory", a), ""};
  }

  // A user with their quota and the protocols refused to them.
  static constexpr const char* user_select =
      "SELECT id, address, password, coalesce(q.storage, 0), coalesce(q.messages, 0),"
      " coalesce((SELECT group_concat(protocol, ' ') FROM disabled_protocols d"
      " WHERE d.user_id = users.id), ''),"
      " coalesce((SELECT group_concat(protocol, ' ') FROM enabled_protocols e"
      " WHERE e.user_id = users.id), ''),"
      " coalesce((SELECT role FROM roles r WHERE r.user_id = users.id), 'user')"
      " FROM users LEFT JOIN quotas q ON q.user_id = users.id";

  static user_record record_of(db::statement& st) {
    user_record u;
    u.id = st.int64(0);
    u.address = st.text(1);
    u.password_hash = st.text(2);
    u.quota_storage = static_cast<uint64_t>(st.int64(3));
    u.quota_messages = static_cast<uint64_t>(st.int64(4));
    auto disabled = st.text(5);
    if (!disabled.empty()) u.disabled_protocols = base::split(disabled, ' ');
    std::sort(u.disabled_protocols.begin(), u.disabled_protocols.end());
    auto enabled = st.text(6);
    if (!enabled.empty()) u.enabled_protocols = base::split(enabled, ' ');
    std::sort(u.enabled_protocols.begin(), u.enabled_protocols.end());
    u.role = st.text(7);
    return u;
  }

  base::result<user_record> find_locked(const std::string& a) {
    // The most frequent statement (every login and delivery) is prepared once.
    if (!find_stmt_) {
      auto st = db_.prepare(fmt::format("{} WHERE address = ?", user_select));
      if (!st) return st.err();
      find_stmt_.emplace(std::move(*st));
    }
    auto& st = *find_stmt_;
    st.bind(1, a);
    auto r = st.step();
    base::result<user_record> out = no_such_user(a);
    if (r == db::step_result::row) out = record_of(st);
    if (r == db::step_result::error) out = db_.error_of("looking up user");
    st.reset();  // no read transaction stays open between calls
    return out;
  }

  std::mutex mu_;
  db::database db_;
  std::optional<db::statement> find_stmt_;  // after db_: finalized before it closes
  uint64_t local_changes_ = 0;
};

}  // namespace

base::status validate_address(std::string_view a) {
  auto at = a.find('@');
  bool ok = at != std::string_view::npos && at > 0 && at + 1 < a.size() &&
            a.find('@', at + 1) == std::string_view::npos && a.size() <= 254;
  for (char c : a)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == '"')
      ok = false;
  if (!ok)
    return base::error{
        base::errc::invalid_argument,
        fmt::format("'{}' is not a mail address of the form user@domain", base::printable(a, 80)),
        ""};
  return base::ok_status();
}

base::result<std::unique_ptr<directory>> open_sqlite_directory(const std::string& data_dir,
                                                               bool create) {
  if (create) {
    if (auto s = base::make_directories(data_dir); !s) return s.err();
  } else if (::access(data_dir.c_str(), R_OK | W_OK | X_OK) != 0) {
    return base::error{base::errc::io_error,
                       fmt::format("data_dir {} is not a readable and writable folder: {}",
                                   data_dir, std::strerror(errno)),
                       ""};
  }
  auto db = db::database::open(data_dir + "/directory.sqlite", true);
  if (!db) return db.err();
  if (auto s = db->exec(schema_sql); !s) return s.err();
  return std::unique_ptr<directory>(new sqlite_directory(std::move(*db)));
}

}  // namespace postern::directory
