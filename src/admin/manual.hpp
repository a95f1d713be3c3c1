// The manual pages, written from what the program itself knows: postern(8)
// from the command line as CLI11 holds it (built from the command registry),
// postern.toml(5) from the configuration keys (config_keys.cpp) and the live
// settings' schema (settings_schema.cpp). `postern manual PAGE` prints them;
// the build turns them into the package's man pages, so they never disagree
// with --help and `postern pop3 get`.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace postern::admin {

std::string manual_postern_8(const CLI::App& app);
std::string manual_postern_toml_5();

}  // namespace postern::admin
