#include "admin/manual.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "admin/config.hpp"
#include "admin/config_keys.hpp"
#include "directory/settings_schema.hpp"

namespace postern::admin {
namespace {

TEST(Manual, PosternTomlPageDescribesEveryKeyAndEverySetting) {
  auto page = manual_postern_toml_5();
  EXPECT_EQ(page.rfind(".TH POSTERN.TOML 5", 0), 0u);
  for (auto& k : config_keys()) {
    std::string key(k.key);
    EXPECT_NE(page.find("\\fB" + key + "\\fR"), std::string::npos) << key;
  }
  for (std::string_view protocol : {"pop3", "imap", "lmtp", "submission"})
    for (auto& s : directory::settings_for(protocol))
      EXPECT_NE(page.find("\\fB" + std::string(s.key) + "\\fR"), std::string::npos)
          << protocol << " " << s.key;
}

// The parser accepts exactly the table's keys: a key the manual lists loads,
// one it does not is refused with the table's list.
TEST(Manual, TheParserAcceptsTheKeysTheManualLists) {
  auto dir = std::filesystem::temp_directory_path() / "postern-manual-test";
  std::filesystem::create_directories(dir);
  auto path = (dir / "postern.toml").string();
  {
    std::ofstream f(path);
    f << "data_dir = \"data\"\nhostname = \"h\"\nthreads = 2\nshutdown_timeout = \"5s\"\n"
         "[[listener]]\nprotocol = \"pop3\"\naddress = \"127.0.0.1\"\nport = 1110\n";
  }
  auto ok = load_config(path);
  EXPECT_TRUE(ok) << (ok ? "" : ok.err().message);
  {
    std::ofstream f(path);
    f << "data_dir = \"data\"\ndata_folder = \"x\"\n";
  }
  auto bad = load_config(path);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.err().message.find("unknown key 'data_folder'"), std::string::npos);
  for (auto key : keys_of("")) EXPECT_NE(bad.err().message.find(key), std::string::npos) << key;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace postern::admin
