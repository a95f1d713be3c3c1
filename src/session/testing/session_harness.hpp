// Runs a real session coroutine against a scripted client over a loopback TCP
// connection inside one test process: a temporary data folder, a directory, a
// store, the node's services — no `postern serve`, no sleeps. The client side
// is blocking POSIX I/O on its own thread so a script reads top to bottom; a
// script may stop reading or close at any point (fault injection).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "base/clock.hpp"
#include "directory/credential_cache.hpp"
#include "directory/directory.hpp"
#include "directory/live_settings.hpp"
#include "directory/testing/faulty_directory.hpp"
#include "net/server.hpp"
#include "policy/connection_registry.hpp"
#include "policy/login_defence.hpp"
#include "session/services.hpp"
#include "store/store.hpp"
#include "store/testing/faulty_store.hpp"

namespace postern::session::testing {

// A blocking client end of the loopback connection.
class script_client {
 public:
  explicit script_client(int fd) : fd_(fd) {}
  ~script_client();
  void send(std::string_view bytes);
  std::string line();       // one line without CRLF; "" at EOF
  std::string multiline();  // a multi-line body, unstuffed, CRLF kept; what came before EOF
  std::string read_exactly(size_t n);
  bool at_eof();  // waits for the server to close
  void close();

 private:
  bool fill();
  int fd_;
  bool eof_ = false;
  std::string buf_;
};

class session_harness {
 public:
  using session_fn = std::function<net::awaitable<void>(services&, std::shared_ptr<net::connection>,
                                                        const net::listener_spec&)>;

  explicit session_harness(std::string protocol);
  ~session_harness();

  directory::directory& dir() { return *dir_; }
  store::store& mail() { return *store_; }
  void add_user(const std::string& address, const std::string& password);
  void set(const std::string& key, const std::string& value);
  // Stores a value the schema would refuse (a 2 s authenticated_timeout, to
  // see a timeout the RFC puts at 29 minutes), as another process could.
  void set_unchecked(const std::string& key, const std::string& value);
  // Messages in the user's INBOX, read straight from the store.
  size_t stored_count(const std::string& address);

  // Fault injection for the next run(): the store fails its Nth operation
  // (0 = never), the connection its Nth read or write.
  void inject_store_faults(uint32_t fail_at, store::testing::fault_kind kind);
  void inject_connection_faults(uint32_t fail_read_at, uint32_t fail_write_at);
  // The directory's Nth user look-up fails as a busy database does.
  void inject_directory_faults(uint32_t fail_lookup_at);
  bool directory_fault_fired() const { return faulty_dir_ && faulty_dir_->fired(); }
  // Whether the injected store fault happened in the last run.
  bool store_fault_fired() const { return faulty_ && faulty_->failed(); }
  // An exception that escaped the session coroutine in the last run ("" if none).
  const std::string& escaped_exception() const { return escaped_; }

  // Every command of later runs is reported to `o` (must outlive them).
  void observe_commands(core::command_observer* o) { services_->observer = o; }

  // Runs `session` for one connection while `client_script` drives it, until
  // both are done.
  void run(const session_fn& session, const std::function<void(script_client&)>& client_script);

 private:
  std::string protocol_;
  std::string data_dir_;
  std::unique_ptr<directory::directory> dir_;
  std::unique_ptr<store::store> store_;
  std::unique_ptr<directory::live_settings> settings_;
  directory::credential_cache credentials_;
  policy::connection_registry registry_;
  policy::login_defence defence_{base::system_clock()};
  directory::user_cache users_;
  std::unique_ptr<services> services_;
  std::unique_ptr<store::testing::faulty_store> faulty_;
  std::unique_ptr<directory::testing::faulty_directory> faulty_dir_;
  uint32_t fail_read_at_ = 0, fail_write_at_ = 0;
  std::string escaped_;
};

}  // namespace postern::session::testing
