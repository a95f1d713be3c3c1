// The node's copy of the component states: read from the directory at start
// and again whenever it changed (the node's watcher calls refresh() four times
// a second, and the admin commands right after a change), so a check on every
// new connection costs a lock and a scan of a few rows, never a query.
//
// Threads: thread-safe.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "directory/components.hpp"
#include "directory/directory.hpp"

namespace postern::directory {

class component_view {
 public:
  explicit component_view(directory& dir) : dir_(dir) {}

  // Rereads the states when the directory's version moved since the last
  // read (or always, with force). A failed read keeps the last states.
  void refresh(bool force = false);
  effective_state state(std::string_view component);
  std::vector<component_record> records();

 private:
  directory& dir_;
  std::mutex mu_;
  uint64_t version_ = ~uint64_t{0};
  std::vector<component_record> records_;
};

}  // namespace postern::directory
