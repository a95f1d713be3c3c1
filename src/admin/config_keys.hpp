// Every key postern.toml may hold, with its kind, default and meaning: the
// parser (config.cpp) accepts exactly these, and postern.toml(5) is written
// from this table, so the manual and the parser never disagree.
#pragma once

#include <span>
#include <string_view>
#include <vector>

namespace postern::admin {

struct config_key {
  std::string_view table;  // "" (top level), "tls", "tls.sni", "listener", "relay"
  std::string_view key;
  std::string_view kind;           // how it is written: "string", "path", "number", "duration"...
  std::string_view default_value;  // empty: none (required, or unset)
  std::string_view help;
};

std::span<const config_key> config_keys();
// The keys of one table, in the table's order.
std::vector<std::string_view> keys_of(std::string_view table);

}  // namespace postern::admin
