#include "base/strings.hpp"

#include <gtest/gtest.h>

#include "base/network.hpp"

namespace postern::base {

TEST(Strings, ParseU64RejectsSignsSpacesAndOverflow) {
  EXPECT_EQ(parse_u64("42"), 42u);
  EXPECT_EQ(parse_u64("0"), 0u);
  EXPECT_FALSE(parse_u64(""));
  EXPECT_FALSE(parse_u64("-1"));
  EXPECT_FALSE(parse_u64("+1"));
  EXPECT_FALSE(parse_u64(" 1"));
  EXPECT_FALSE(parse_u64("1a"));
  EXPECT_FALSE(parse_u64("99999999999999999999"));
}

TEST(Strings, PrintableEscapesControlAndCuts) {
  EXPECT_EQ(printable(std::string("a\0b\r\n", 5)), "a\\x00b\\x0d\\x0a");
  EXPECT_EQ(printable("abcdef", 3), "abc...");
  EXPECT_EQ(printable("\xff"), "\\xff");
}

TEST(Strings, Base64RoundTripAndRejectsGarbage) {
  EXPECT_EQ(base64_encode("hello"), "aGVsbG8=");
  EXPECT_EQ(base64_decode("aGVsbG8="), "hello");
  EXPECT_EQ(base64_decode("AGpvZQBzZWNyZXQ="), std::string("\0joe\0secret", 11));
  EXPECT_FALSE(base64_decode("abc"));
  EXPECT_FALSE(base64_decode("a!!="));
  EXPECT_EQ(base64_decode(""), "");
}

TEST(Strings, NormalizeAddressLowercasesDomainOnly) {
  EXPECT_EQ(normalize_address(" Joe@Example.COM "), "Joe@example.com");
}

TEST(Network, CidrMatchingV4AndV6) {
  auto n = parse_network("127.0.0.0/8");
  ASSERT_TRUE(n);
  EXPECT_TRUE(n->contains("127.0.0.1"));
  EXPECT_TRUE(n->contains("127.255.1.2"));
  EXPECT_FALSE(n->contains("128.0.0.1"));
  EXPECT_FALSE(n->contains("::1"));
  auto v6 = parse_network("::1");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->contains("::1"));
  EXPECT_FALSE(v6->contains("::2"));
  EXPECT_FALSE(parse_network("10.0.0.0/33"));
  EXPECT_FALSE(parse_network("nonsense"));
  std::vector<ip_network> list;
  std::string bad;
  EXPECT_TRUE(parse_network_list("10.0.0.0/8, 192.168.1.1", list, bad));
  EXPECT_EQ(list.size(), 2u);
  EXPECT_FALSE(parse_network_list("10.0.0.0/8, foo", list, bad));
  EXPECT_EQ(bad, "foo");
}

}  // namespace postern::base
