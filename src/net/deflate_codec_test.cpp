#include "net/deflate_codec.hpp"

#include <gtest/gtest.h>

#include <random>

namespace postern::net {

// Each side of a connection is a codec: what one compresses the other inflates.
TEST(DeflateCodec, RoundTripsInAnyPiecesAndFlushesEveryWrite) {
  deflate_codec server, client;
  ASSERT_TRUE(server.ok() && client.ok());
  std::string plain;
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i)
    plain += "* " + std::to_string(rng()) + " FETCH (FLAGS (\\Seen))\r\n";
  std::string wire;
  // Written in three pieces: each one is complete on the wire at once.
  const size_t cuts[] = {0, plain.size() / 3, 2 * plain.size() / 3, plain.size()};
  for (int k = 0; k < 3; ++k) {
    size_t at = cuts[k], len = cuts[k + 1] - cuts[k];
    std::string piece;
    ASSERT_TRUE(server.compress(std::string_view(plain).substr(at, len), piece));
    client.add_input(piece);
    std::string got(len, '\0');
    size_t have = 0;
    while (have < len) {
      long n = client.inflate_into(got.data() + have, len - have);
      ASSERT_GT(n, 0);
      have += static_cast<size_t>(n);
    }
    EXPECT_TRUE(got == plain.substr(at, len)) << "piece " << k;
    wire += piece;
  }
  EXPECT_LT(wire.size(), plain.size() / 2);
  // Fed one byte at a time into a small buffer, the same bytes come out.
  deflate_codec again;
  std::string out;
  for (char c : wire) {
    again.add_input(std::string_view(&c, 1));
    char buf[7];
    long n;
    while ((n = again.inflate_into(buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    ASSERT_GE(n, 0);
  }
  EXPECT_TRUE(out == plain) << out.size() << " of " << plain.size() << " bytes";
}

TEST(DeflateCodec, CorruptInputIsAnErrorNotACrash) {
  deflate_codec c;
  c.add_input(std::string("\xff\xff\xff\xff garbage", 12));
  char buf[64];
  EXPECT_EQ(c.inflate_into(buf, sizeof buf), -1);
}

}  // namespace postern::net
