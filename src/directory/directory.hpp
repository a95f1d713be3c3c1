// The directory: users, their password hashes and the protocol settings every
// node shares. SQLite (data_dir/directory.sqlite) for a standalone node;
// PostgreSQL joins behind the same interface for clusters.
//
// Threads: every method is thread-safe and may block briefly on SQLite.
// Password hashing is not done here (see password.hpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.hpp"
#include "directory/components.hpp"
#include "directory/settings_schema.hpp"

namespace postern::directory {

struct user_record {
  int64_t id = 0;  // never reused; names the user's mailbox folder
  std::string address;
  std::string password_hash;
  // RFC 9208 QUOTA resources; 0 means no limit.
  uint64_t quota_storage = 0;   // bytes (STORAGE is reported in KiB)
  uint64_t quota_messages = 0;  // messages
  // Protocols this mailbox may not log in with (`postern user set ADDRESS
  // --imap off`, as Exchange's Set-CASMailbox -ImapEnabled $false).
  std::vector<std::string> disabled_protocols;
  // Switched on explicitly (`--imap on`): what an admin account needs to log
  // in over POP3 or IMAP at all (seed 004: admin mailboxes are not for mail
  // clients unless someone decided so).
  std::vector<std::string> enabled_protocols;
  std::string role = "user";  // "user" or "admin"
  bool allows(std::string_view protocol) const {
    for (auto& p : disabled_protocols)
      if (p == protocol) return false;
    if (role == "admin" && (protocol == "pop3" || protocol == "imap")) {
      for (auto& p : enabled_protocols)
        if (p == protocol) return true;
      return false;
    }
    return true;
  }
};

// A retention rule (`postern folder set ... --expunge-after 30d`): messages
// older than `seconds` in this folder (by the time they were saved there) are
// expunged hourly. user_id 0 is the rule for every user (`--all`); 0 seconds
// keeps them for good.
struct retention_rule {
  int64_t user_id = 0;
  std::string folder;
  int64_t seconds = 0;
};
// What a new user gets (Trash and Junk, 30 days); existing users are never
// given a rule they did not have.
inline constexpr std::pair<std::string_view, int64_t> new_user_retention[] = {{"Trash", 30 * 86400},
                                                                              {"Junk", 30 * 86400}};

// The protocols a mailbox can be allowed or refused one by one.
inline constexpr std::string_view mailbox_protocols[] = {"pop3", "imap", "submission"};

class directory {
 public:
  virtual ~directory() = default;

  virtual base::result<user_record> find_user(std::string_view address) = 0;
  virtual base::result<user_record> add_user(std::string_view address,
                                             std::string_view password_hash) = 0;
  virtual base::status set_password(std::string_view address, std::string_view password_hash) = 0;
  virtual base::result<user_record> remove_user(std::string_view address) = 0;
  virtual base::result<std::vector<user_record>> list_users() = 0;
  // Sets the user's quota limits (0: none).
  virtual base::status set_quota(std::string_view address, uint64_t storage_bytes,
                                 uint64_t messages) = 0;

  // Allows or refuses logins of the user over `protocol` (one of
  // mailbox_protocols); invalid_argument for another name.
  virtual base::status set_protocol_enabled(std::string_view address, std::string_view protocol,
                                            bool enabled) = 0;

  // "user" or "admin"; invalid_argument for another word.
  virtual base::status set_role(std::string_view address, std::string_view role) = 0;

  // Stored (non-default) values of a protocol's settings.
  virtual base::result<setting_map> settings(std::string_view protocol) = 0;
  // Validates, normalises and stores; returns the stored form.
  virtual base::result<std::string> set_setting(std::string_view protocol, std::string_view key,
                                                std::string_view value) = 0;
  // Retention rules: all of them (user 0 first), or one user's.
  virtual base::result<std::vector<retention_rule>> retention_rules() = 0;
  // Sets a rule; for user 0 (every user) it also drops the users' own rules
  // for that folder. `seconds` < 0 removes the rule instead.
  virtual base::status set_retention(int64_t user_id, std::string_view folder, int64_t seconds) = 0;

  // Every requester's state of every component (components.hpp).
  virtual base::result<std::vector<component_record>> component_states() = 0;
  // Stores one requester's state of one component (`since` is set now);
  // `active` removes that requester's row. invalid_argument for an unknown
  // component or requester.
  virtual base::status set_component_state(const component_record& r) = 0;

  // Aliases (`postern user alias add ADDRESS ALIAS`): more addresses of a
  // user, which it may send as. An alias is never another user's address or
  // another user's alias (already_exists).
  virtual base::status add_alias(std::string_view address, std::string_view alias) {
    return unsupported(address, alias);
  }
  virtual base::status remove_alias(std::string_view address, std::string_view alias) {
    return unsupported(address, alias);
  }
  virtual base::result<std::vector<std::string>> aliases(std::string_view address) {
    return unsupported(address, "");
  }
  // The mailbox mail to `address` goes to: the user with that address, or
  // the owner of that alias; not_found for neither.
  virtual base::result<user_record> find_recipient(std::string_view address) {
    return find_user(address);
  }
  // Whether some user or alias has an address in `domain`: mail to an
  // unknown address there is a typo, not mail to relay.
  virtual base::result<bool> is_local_domain(std::string_view domain) {
    (void)domain;
    return false;
  }
  // Send grants (`postern user grant ADDRESS --send-as OTHER`): kind
  // "send_as" or "send_on_behalf"; "" removes the grant.
  virtual base::status set_send_grant(std::string_view address, std::string_view other,
                                      std::string_view kind) {
    (void)kind;
    return unsupported(address, other);
  }
  // What lets `address` send as `other`: "alias" (an alias of its own),
  // "send_as", "send_on_behalf", or "" for nothing.
  virtual base::result<std::string> send_grant(std::string_view address, std::string_view other) {
    return unsupported(address, other);
  }

  // Changes whenever any process commits a change to the directory.
  virtual uint64_t version() = 0;

 private:
  static base::error unsupported(std::string_view, std::string_view) {
    return base::error{base::errc::unavailable, "this directory keeps no aliases or grants", ""};
  }
};

// Opens data_dir/directory.sqlite, creating it (and data_dir) when `create`.
base::result<std::unique_ptr<directory>> open_sqlite_directory(const std::string& data_dir,
                                                               bool create);

// Checks an address is user@domain with no spaces or control characters.
base::status validate_address(std::string_view address);

}  // namespace postern::directory
