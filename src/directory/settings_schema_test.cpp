#include "directory/settings_schema.hpp"

#include <gtest/gtest.h>

namespace postern::directory {

TEST(Settings, DefaultsMatchTheDocumentedValues) {
  auto s = make_pop3_settings({});
  EXPECT_EQ(s.login, login_type::secure);
  EXPECT_TRUE(s.secure_networks.empty());
  EXPECT_EQ(s.max_connections_per_user, 16u);
  EXPECT_EQ(s.preauthenticated_timeout, std::chrono::seconds(60));
  EXPECT_EQ(s.authenticated_timeout, std::chrono::minutes(30));
  EXPECT_EQ(s.max_command_size, 512u);
  EXPECT_EQ(s.message_sort_order, sort_order::ascending);
}

TEST(Settings, ValidateNormalisesAndNamesTheProblem) {
  EXPECT_EQ(*validate_setting("pop3", "authenticated_timeout", "45m"), "45min");
  EXPECT_EQ(*validate_setting("pop3", "preauthenticated_timeout", "90"), "90s");
  EXPECT_EQ(*validate_setting("pop3", "login_type", "PlainText"), "plaintext");
  auto too_small = validate_setting("pop3", "max_command_size", "39");
  ASSERT_FALSE(too_small);
  EXPECT_NE(too_small.err().message.find("max_command_size"), std::string::npos);
  EXPECT_NE(too_small.err().message.find("40 to 1024"), std::string::npos);
  EXPECT_TRUE(validate_setting("pop3", "max_command_size", "40"));
  EXPECT_TRUE(validate_setting("pop3", "max_command_size", "1024"));
  EXPECT_FALSE(validate_setting("pop3", "max_command_size", "1025"));
  auto unknown = validate_setting("pop3", "max_conections", "3");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.err().message.find("max_connections_per_user"), std::string::npos);
  EXPECT_FALSE(validate_setting("pop3", "banner", "two\r\nlines"));
  EXPECT_FALSE(validate_setting("pop3", "authenticated_timeout", "9999999999999999999h"));
  EXPECT_FALSE(validate_setting("pop3", "authenticated_timeout", "5000000000m"));
  EXPECT_FALSE(validate_setting("pop3", "secure_networks", "10.0.0.0/8, bogus"));
  EXPECT_EQ(*validate_setting("pop3", "secure_networks", "127.0.0.0/8 ::1"), "127.0.0.0/8, ::1");
}

TEST(Settings, StoredValuesOverrideDefaults) {
  setting_map m{{"max_connections_per_user", "3"},
                {"message_sort_order", "descending"},
                {"secure_networks", "10.0.0.0/8"}};
  auto s = make_pop3_settings(m);
  EXPECT_EQ(s.max_connections_per_user, 3u);
  EXPECT_EQ(s.message_sort_order, sort_order::descending);
  ASSERT_EQ(s.secure_networks.size(), 1u);
  EXPECT_TRUE(s.secure_networks[0].contains("10.1.2.3"));
}

}  // namespace postern::directory
