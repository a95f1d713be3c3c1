#include "proto/imap/command_framer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace postern::proto::imap {

namespace {

using kind = frame::kind;

// One thing the framer told the caller, with `end` as an offset in the whole stream.
struct event {
  kind what;
  uint64_t end;
  uint64_t literal_size;
  bool discarded;  // a `complete` that ended a discarded command

  bool operator==(const event&) const = default;
};

std::ostream& operator<<(std::ostream& os, const event& e) {
  static const char* names[] = {"need_more", "continuation", "complete", "too_long",
                                "literal_too_big"};
  return os << names[static_cast<int>(e.what)] << "@" << e.end << " lit=" << e.literal_size
            << (e.discarded ? " discarded" : "");
}

// The session's reader loop from the header, fed `stream` in pieces that end at `cuts`
// (ascending offsets). Returns every frame other than need_more.
std::vector<event> drive(std::string_view stream, const std::vector<size_t>& cuts,
                         size_t max_command = 1 << 16, uint64_t max_literal = 1 << 12) {
  command_framer framer(max_command, max_literal);
  std::vector<event> events;
  std::string buffer;
  uint64_t base = 0;  // stream offset of buffer[0]
  size_t from = 0;
  auto pieces = cuts;
  pieces.push_back(stream.size());
  for (size_t to : pieces) {
    buffer.append(stream.substr(from, to - from));
    from = to;
    for (;;) {
      auto f = framer.scan(buffer);
      EXPECT_LE(f.length, buffer.size());
      if (f.what == kind::need_more) {
        if (framer.discarding()) {
          base += buffer.size();
          buffer.clear();
        }
        break;
      }
      events.push_back({f.what, base + f.length, f.literal_size,
                        f.what == kind::complete && framer.discarding()});
      if (f.what == kind::continuation) continue;
      base += f.length;
      buffer.erase(0, f.length);
      if (f.what != kind::too_long) framer.reset();
    }
  }
  return events;
}

std::vector<event> drive_whole(std::string_view stream, size_t max_command = 1 << 16,
                               uint64_t max_literal = 1 << 12) {
  return drive(stream, {}, max_command, max_literal);
}

// Checks that every split into two pieces, and one byte at a time, gives `want`.
void expect_split_invariant(std::string_view stream, const std::vector<event>& want,
                            size_t max_command = 1 << 16, uint64_t max_literal = 1 << 12) {
  for (size_t i = 0; i <= stream.size(); ++i)
    ASSERT_EQ(drive(stream, {i}, max_command, max_literal), want) << "split at " << i;
  std::vector<size_t> bytes;
  for (size_t i = 1; i < stream.size(); ++i) bytes.push_back(i);
  ASSERT_EQ(drive(stream, bytes, max_command, max_literal), want) << "one byte at a time";
}

struct valid_case {
  const char* name;
  std::string command;
  std::vector<uint64_t> literals;  // sync literal sizes announced, in order
};

std::vector<valid_case> valid_commands() {
  using namespace std::string_literals;
  return {
      {"plain line", "a1 NOOP\r\n", {}},
      {"bare LF", "a1 NOOP\n", {}},
      {"empty line", "\r\n", {}},
      {"quoted marker not at end", "a1 LOGIN \"{5}\" \"pw{3}\"\r\n", {}},
      {"marker followed by a space", "a1 X {5} \r\n", {}},
      {"not a number", "a1 X {five}\r\n", {}},
      {"empty braces", "a1 X {}\r\n", {}},
      {"plus without digits", "a1 X {+}\r\n", {}},
      {"21 digits", "a1 X {000000000000000000001}\r\n", {}},
      {"overflow", "a1 X {18446744073709551616}\r\n", {}},
      {"CR then junk", "a1 X {3}\rx\r\n", {}},
      {"one literal", "a1 LOGIN {3}\r\njoe secret\r\n", {3}},
      {"literal then bare LF", "a1 LOGIN {3}\njoe secret\n", {3}},
      {"several literals", "a1 LOGIN {3}\r\njoe {6}\r\nsecret\r\n", {3, 6}},
      {"zero literal", "a1 LOGIN {0}\r\n {0}\r\n\r\n", {0, 0}},
      {"non-sync literal", "a1 APPEND INBOX {5+}\r\nhello\r\n", {}},
      {"non-sync then sync", "a1 LOGIN {3+}\r\njoe {2}\r\npw\r\n", {2}},
      {"literal8", "a1 APPEND INBOX ~{4}\r\n\0\1\2\3\r\n"s, {4}},
      {"literal8 non-sync", "a1 APPEND INBOX ~{2+}\r\n\0\0\r\n"s, {}},
      {"literal holding CRLF and a marker",
       "a1 APPEND INBOX {13}\r\nx{3}\r\n\r\n{1}\r\n\r\n",
       {13}},
      {"literal ending in a marker", "a1 X {5}\r\n{99}\r {1+}\r\nz\r\n", {5}},
  };
}

}  // namespace

TEST(CommandFramer, ValidCommandsAtEverySplit) {
  for (const auto& c : valid_commands()) {
    SCOPED_TRACE(c.name);
    auto events = drive_whole(c.command);
    ASSERT_EQ(events.size(), c.literals.size() + 1);
    for (size_t i = 0; i < c.literals.size(); ++i) {
      EXPECT_EQ(events[i].what, kind::continuation);
      EXPECT_EQ(events[i].literal_size, c.literals[i]);
    }
    EXPECT_EQ(events.back(), (event{kind::complete, c.command.size(), 0, false}));
    expect_split_invariant(c.command, events);
  }
}

TEST(CommandFramer, ContinuationComesRightAfterTheAnnouncingLine) {
  std::string cmd = "a1 LOGIN {3}\r\njoe {6}\r\nsecret\r\n";
  auto events = drive_whole(cmd);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0], (event{kind::continuation, 14, 3, false}));
  EXPECT_EQ(events[1], (event{kind::continuation, 23, 6, false}));
}

TEST(CommandFramer, ScanAfterContinuationWithoutNewBytesNeedsMore) {
  command_framer f(1000, 100);
  std::string buf = "a1 LOGIN {3}\r\n";
  EXPECT_EQ(f.scan(buf).what, kind::continuation);
  EXPECT_EQ(f.scan(buf).what, kind::need_more);
  buf += "joe x\r\n";
  auto done = f.scan(buf);
  EXPECT_EQ(done.what, kind::complete);
  EXPECT_EQ(done.length, buf.size());
  // Repeated until reset().
  EXPECT_EQ(f.scan(buf).length, buf.size());
  f.reset();
  EXPECT_EQ(f.scan("a2 NOOP").what, kind::need_more);
}

TEST(CommandFramer, BackToBackCommandsGiveTheFirstLength) {
  command_framer f(1000, 100);
  std::string two = "a1 NOOP\r\na2 LOGIN {1}\r\nx y\r\n";
  auto first = f.scan(two);
  EXPECT_EQ(first.what, kind::complete);
  EXPECT_EQ(first.length, 9u);
  auto events = drive_whole(two);
  std::vector<event> want = {{kind::complete, 9, 0, false},
                             {kind::continuation, 23, 1, false},
                             {kind::complete, 28, 0, false}};
  EXPECT_EQ(events, want);
  expect_split_invariant(two, want);
}

TEST(CommandFramer, ShorterBufferThanScannedIsIgnored) {
  command_framer f(1000, 100);
  EXPECT_EQ(f.scan("a1 NO").what, kind::need_more);
  EXPECT_EQ(f.scan("a1").what, kind::need_more);
  EXPECT_EQ(f.scan("a1 NOOP\r\n").length, 9u);
}

TEST(CommandFramer, LineLengthAtTheBoundary) {
  const size_t max = 32;
  for (size_t len : {max - 1, max}) {
    std::string cmd = "a1 X " + std::string(len - 7, 'y') + "\r\n";
    ASSERT_EQ(cmd.size(), len);
    std::vector<event> want = {{kind::complete, len, 0, false}};
    EXPECT_EQ(drive_whole(cmd, max), want) << len;
    expect_split_invariant(cmd, want, max);
  }
  std::string over = "a1 X " + std::string(max + 1 - 7, 'y') + "\r\n";
  ASSERT_EQ(over.size(), max + 1);
  // Known too long once max bytes are in without an LF; the rest is discarded.
  std::vector<event> want = {{kind::too_long, max, 0, false}, {kind::complete, max + 1, 0, true}};
  EXPECT_EQ(drive_whole(over, max), want);
  expect_split_invariant(over, want, max);
}

TEST(CommandFramer, LiteralBytesCountTowardsTheCommand) {
  const size_t max = 40;
  auto append = [](size_t n) {
    // 23 bytes of line, n literal bytes, CRLF: 25 + n for a two-digit n.
    return "a1 APPEND INBOX {" + std::to_string(n) + "+}\r\n" + std::string(n, '\n') + "\r\n";
  };
  for (size_t n : {14, 15}) {
    auto cmd = append(n);
    ASSERT_EQ(cmd.size(), 25 + n);
    std::vector<event> want = {{kind::complete, cmd.size(), 0, false}};
    EXPECT_EQ(drive_whole(cmd, max), want) << n;
    expect_split_invariant(cmd, want, max);
  }
  // 41 bytes: the literal itself would fit with a bare LF after it, so the command is
  // refused only when its 41st byte arrives.
  auto over = append(16);
  std::vector<event> want = {{kind::too_long, max, 0, false},
                             {kind::complete, over.size(), 0, true}};
  EXPECT_EQ(drive_whole(over, max), want);
  expect_split_invariant(over, want, max);
  // Here even a bare LF after the literal would make 41: refused at the announcement, and
  // the literal (all LFs) is skipped unread.
  auto far = append(17);
  want = {{kind::too_long, 23, 17, false}, {kind::complete, far.size(), 0, true}};
  EXPECT_EQ(drive_whole(far, max), want);
  expect_split_invariant(far, want, max);
}

TEST(CommandFramer, LargestMarkerIsALiteral) {
  std::string sync = "a1 X {18446744073709551615}\r\n";
  EXPECT_EQ(drive_whole(sync),
            (std::vector<event>{{kind::literal_too_big, sync.size(), UINT64_MAX, false}}));
  command_framer f(1 << 16, 1 << 12);
  auto t = f.scan("a1 X {18446744073709551615+}\r\nabc\r\n");
  EXPECT_EQ(t.what, kind::too_long);
  EXPECT_EQ(t.literal_size, UINT64_MAX);
  EXPECT_EQ(f.scan("\r\n").what, kind::need_more);  // still inside the literal
}

TEST(CommandFramer, SyncLiteralOverTheCommandLimitIsRefusedWithoutPlus) {
  const size_t max = 30;
  // "a1 LOGIN {n}\r\n" is 14 bytes; the command is at least 14 + n + 1.
  std::string ok = "a1 LOGIN {15}\r\n" + std::string(15, 'x') + "\n";
  ASSERT_EQ(ok.size(), max + 1);
  auto e = drive_whole(ok, max);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].what, kind::literal_too_big);  // 15 + 15 + LF > 30
  std::string fits = "a1 LOGIN {14}\r\n" + std::string(14, 'x') + "\n";
  ASSERT_EQ(fits.size(), max);
  std::vector<event> want = {{kind::continuation, 15, 14, false}, {kind::complete, max, 0, false}};
  EXPECT_EQ(drive_whole(fits, max), want);
}

TEST(CommandFramer, LiteralTooBigAtTheBoundary) {
  const uint64_t max_literal = 100;
  for (uint64_t n : {max_literal - 1, max_literal}) {
    std::string cmd = "a1 LOGIN {" + std::to_string(n) + "}\r\n" + std::string(n, 'p') + "\r\n";
    auto events = drive_whole(cmd, 1 << 16, max_literal);
    ASSERT_EQ(events.size(), 2u) << n;
    EXPECT_EQ(events[0].what, kind::continuation);
    EXPECT_EQ(events[1], (event{kind::complete, cmd.size(), 0, false}));
  }
  // The client waits for "+", so the command ends at the announcing line; what follows
  // is the next command.
  std::string cmd = "a1 LOGIN {101}\r\na2 NOOP\r\n";
  std::vector<event> want = {{kind::literal_too_big, 16, 101, false},
                             {kind::complete, cmd.size(), 0, false}};
  EXPECT_EQ(drive_whole(cmd, 1 << 16, max_literal), want);
  expect_split_invariant(cmd, want, 1 << 16, max_literal);
  std::string bin = "a1 APPEND INBOX ~{101}\r\n";
  EXPECT_EQ(drive_whole(bin, 1 << 16, max_literal),
            (std::vector<event>{{kind::literal_too_big, bin.size(), 101, false}}));
}

TEST(CommandFramer, NonSyncLiteralOverMaxLiteralIsDiscarded) {
  // RFC 7888 §4 (LITERAL-): the client sends the bytes without waiting; skip them all.
  std::string cmd = "a1 APPEND INBOX {5+}\r\nab\r\nc\r\na2 NOOP\r\n";
  std::vector<event> want = {{kind::too_long, 22, 5, false},
                             {kind::complete, 29, 0, true},
                             {kind::complete, cmd.size(), 0, false}};
  EXPECT_EQ(drive_whole(cmd, 1 << 16, 4), want);
  expect_split_invariant(cmd, want, 1 << 16, 4);
}

TEST(CommandFramer, DiscardingEndsAtSyncLiteralAndSkipsNonSync) {
  const size_t max = 16;
  // Too long on the first line; a later {6+} literal is skipped (it holds an LF and a
  // marker), then a {9} marker ends the command because the client now waits for "+".
  std::string cmd = "a1 APPEND INBOX xxxx {6+}\r\n\n{1}\r\n {9}\r\na2 NOOP\r\n";
  size_t end = cmd.find("a2");
  std::vector<event> want = {{kind::too_long, max, 0, false},
                             {kind::complete, end, 0, true},
                             {kind::complete, cmd.size(), 0, false}};
  EXPECT_EQ(drive_whole(cmd, max), want);
  expect_split_invariant(cmd, want, max);
}

TEST(CommandFramer, DiscardingPieceByPiece) {
  command_framer f(8, 100);
  auto t = f.scan("a1 LOGIN joe");
  EXPECT_EQ(t.what, kind::too_long);
  EXPECT_EQ(t.length, 8u);
  EXPECT_TRUE(f.discarding());
  EXPECT_EQ(f.scan(" joe").what, kind::need_more);  // rest of the first piece
  EXPECT_EQ(f.scan(" secret {1").what, kind::need_more);
  EXPECT_EQ(f.scan("0+}\r\n12345").what, kind::need_more);
  EXPECT_EQ(f.scan("6789\r").what, kind::need_more);  // literal byte 10 is the CR
  auto end = f.scan("\r\na2 NOOP\r\n");
  EXPECT_EQ(end.what, kind::complete);
  EXPECT_EQ(end.length, 2u);
  EXPECT_TRUE(f.discarding());
  f.reset();
  EXPECT_FALSE(f.discarding());
  EXPECT_EQ(f.scan("a2 NOOP\n").length, 8u);  // exactly max_command
}

TEST(CommandFramer, ZeroMaxCommandActsAsOne) {
  command_framer f(0, 0);
  EXPECT_EQ(f.max_command(), 1u);
  EXPECT_EQ(f.scan("\n").what, kind::complete);
  f.reset();
  EXPECT_EQ(f.scan("x").what, kind::too_long);
}

}  // namespace postern::proto::imap
