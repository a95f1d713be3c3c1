#include "observe/log.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace postern::observe {
namespace {

bool has(const std::vector<std::string>& items, const std::string& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

bool has_key(const std::vector<std::string>& items, const std::string& key) {
  return std::any_of(items.begin(), items.end(),
                     [&](const std::string& i) { return i.rfind(key + "=", 0) == 0; });
}

TEST(JournalFields, ASessionLineCarriesItsSessionUserProtocolAddressAndCode) {
  session_fields s{"imap", "joe@example.com", "192.0.2.7"};
  auto f = journal_fields(level::warning, "imap", "0001A2B3C4D5E6F7", "login of joe refused",
                          {"LIMIT", ""}, s);
  EXPECT_TRUE(has(f, "MESSAGE=imap 0001A2B3C4D5E6F7 login of joe refused"));
  EXPECT_TRUE(has(f, "PRIORITY=4"));
  EXPECT_TRUE(has(f, "SYSLOG_IDENTIFIER=postern"));
  EXPECT_TRUE(has(f, "POSTERN_COMPONENT=imap"));
  EXPECT_TRUE(has(f, "SESSION_ID=0001A2B3C4D5E6F7"));
  EXPECT_TRUE(has(f, "PROTOCOL=imap"));
  EXPECT_TRUE(has(f, "USER=joe@example.com"));
  EXPECT_TRUE(has(f, "REMOTE_ADDR=192.0.2.7"));
  EXPECT_TRUE(has(f, "CODE=LIMIT"));
}

TEST(JournalFields,
     BeforeTheSessionIsKnownTheLineGivesTheAddressAndTheProtocolComesFromTheComponent) {
  auto f = journal_fields(level::info, "pop3", "00000000000000AA", "connection refused",
                          {"SYS/TEMP", "198.51.100.1"}, std::nullopt);
  EXPECT_TRUE(has(f, "PROTOCOL=pop3"));
  EXPECT_TRUE(has(f, "REMOTE_ADDR=198.51.100.1"));
  EXPECT_TRUE(has(f, "CODE=SYS/TEMP"));
  EXPECT_TRUE(has(f, "PRIORITY=6"));
  EXPECT_FALSE(has_key(f, "USER"));
}

TEST(JournalFields, ANodeLineHasNoSessionFields) {
  auto f = journal_fields(level::error, "node", "", "listening failed", {}, std::nullopt);
  EXPECT_TRUE(has(f, "MESSAGE=node listening failed"));
  EXPECT_TRUE(has(f, "PRIORITY=3"));
  for (auto* key : {"SESSION_ID", "PROTOCOL", "USER", "REMOTE_ADDR", "CODE"})
    EXPECT_FALSE(has_key(f, key)) << key;
}

TEST(JournalFields, ControlBytesCannotForgeFieldsOrEntries) {
  session_fields s{"pop3", "eve\nPRIORITY=0", "192.0.2.9"};
  auto f = journal_fields(level::info, "pop3", "1", "USER x\nMESSAGE=forged", {}, s);
  EXPECT_TRUE(has(f, "MESSAGE=pop3 1 USER x\\x0aMESSAGE=forged"));
  EXPECT_TRUE(has(f, "USER=eve\\x0aPRIORITY=0"));
  for (auto& item : f) EXPECT_EQ(item.find('\n'), std::string::npos) << item;
}

}  // namespace
}  // namespace postern::observe
