// The node's live sessions, for `postern session list` and `session kill`:
// who is connected over which protocol, from where, with which TLS, doing
// what, since when, and how many bytes each way.
//
// Each session owns its entry (session_base registers it and removes it when
// the session ends) and updates it from its own I/O thread at login and
// around every command; list() copies the entries under their locks from any
// thread. kill() posts to each chosen session's own executor, which marks it
// and interrupts the connection: a session waiting for a command says its
// coded goodbye at once, a session in the middle of one finishes it first.
//
// Threads: thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace postern::session::core {

struct session_info {
  std::string id;
  std::string protocol;
  std::string remote_ip;
  uint16_t local_port = 0;
  std::string user;     // empty before login
  std::string tls;      // "TLSv1.3 TLS_AES_256_GCM_SHA384", or empty
  std::string command;  // the verb running now, empty while waiting for one
  std::chrono::system_clock::time_point since;
  uint64_t bytes_in = 0, bytes_out = 0;
  bool ending = false;  // told to end; kill() passes it over
};

class session_table {
 public:
  class entry {
   public:
    explicit entry(session_info info) : info_(std::move(info)) {}
    template <class F>
    void update(F&& f) {
      std::lock_guard lock(mu_);
      f(info_);
    }
    session_info snapshot() {
      std::lock_guard lock(mu_);
      return info_;
    }

    // Set on the session's own thread by its kill function; the session
    // then says `end_reason` as it ends.
    bool killed = false;
    std::string end_reason;

   private:
    friend class session_table;
    std::mutex mu_;
    session_info info_;
    std::function<void(std::shared_ptr<entry>, std::string)> kill_;
  };
  using kill_function = std::function<void(std::shared_ptr<entry>, std::string reason)>;

  // Registers a session; `kill` must post to the session's own executor.
  std::shared_ptr<entry> add(session_info info, kill_function kill);
  void remove(const std::string& id);

  std::vector<session_info> list();
  // One session's entry as it is now, by its id.
  std::optional<session_info> find(const std::string& id);
  // Ends the sessions `which` chooses, telling each `reason` ("the
  // administrator ended this session"); returns how many were told to end.
  size_t kill(const std::function<bool(const session_info&)>& which, const std::string& reason);
  size_t size();

 private:
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<entry>> entries_;
};

}  // namespace postern::session::core
