#include "multiline.hpp"

#include <gtest/gtest.h>

#include <string>

namespace loadgen {
namespace {

struct outcome {
  bool done = false;
  std::uint64_t body = 0;
  std::string rest;  // what follows the terminator (a pipelined next response)
};

// Feeds `wire` in pieces cut at `cuts` (ascending offsets), keeping the
// unconsumed bytes as connection does.
outcome feed(const std::string& wire, const std::vector<std::size_t>& cuts) {
  multiline_scanner scanner;
  std::string held;
  std::size_t from = 0;
  auto pieces = cuts;
  pieces.push_back(wire.size());
  for (const auto to : pieces) {
    held += wire.substr(from, to - from);
    from = to;
    const auto step = scanner.scan(held);
    held.erase(0, step.consumed);
    if (step.done) return {true, scanner.body_octets(), held + wire.substr(from)};
  }
  return {false, scanner.body_octets(), held};
}

struct sample {
  std::string wire;
  std::uint64_t body;
  std::string rest;
};

const sample samples[] = {
    {".\r\n", 0, ""},
    {".\r\n+OK next\r\n", 0, "+OK next\r\n"},
    {"a\r\n.\r\n", 3, ""},
    {"Subject: x\r\n\r\n..stuffed\r\n.x\r\nend. of.\r\n.\r\n+OK", 39, "+OK"},
    {"..\r\n.\r\n", 4, ""},
    {"line\r\n...\r\n.\r\n", 11, ""},
    {"no dot at start.\r\n.\r\n", 18, ""},
};

TEST(multiline_scanner, finds_the_terminator_in_one_piece) {
  for (const auto& s : samples) {
    const auto r = feed(s.wire, {});
    EXPECT_TRUE(r.done) << s.wire;
    EXPECT_EQ(r.body, s.body) << s.wire;
    EXPECT_EQ(r.rest, s.rest) << s.wire;
  }
}

TEST(multiline_scanner, finds_the_terminator_split_at_every_byte) {
  for (const auto& s : samples) {
    for (std::size_t cut = 1; cut < s.wire.size(); ++cut) {
      const auto r = feed(s.wire, {cut});
      EXPECT_TRUE(r.done) << s.wire << " cut at " << cut;
      EXPECT_EQ(r.body, s.body) << s.wire << " cut at " << cut;
      EXPECT_EQ(r.rest, s.rest) << s.wire << " cut at " << cut;
    }
    std::vector<std::size_t> every;
    for (std::size_t i = 1; i < s.wire.size(); ++i) every.push_back(i);
    const auto r = feed(s.wire, every);
    EXPECT_TRUE(r.done && r.body == s.body && r.rest == s.rest) << s.wire << " one byte at a time";
  }
}

TEST(multiline_scanner, dot_stuffed_lines_do_not_end_the_body) {
  for (const std::string wire : {"..\r\n", "a\r\n..\r\n", "a\r\n.x\r\n", "x.\r\n"}) {
    EXPECT_FALSE(feed(wire, {}).done) << wire;
  }
}

}  // namespace
}  // namespace loadgen
