#include "imap_lines.hpp"

#include <gtest/gtest.h>

namespace loadgen {
namespace {

TEST(ImapLines, LiteralAtTheEndOfALineIsFound) {
  EXPECT_EQ(literal_length("* 1 FETCH (BODY[] {12}"), 12u);
  EXPECT_EQ(literal_length("* 1 FETCH (ENVELOPE (\"x\" {0}"), 0u);
  EXPECT_EQ(literal_length("* 2 FETCH (BINARY[1] ~{5}"), 5u);
}

TEST(ImapLines, AnythingElseIsNoLiteral) {
  EXPECT_FALSE(literal_length("* 1 FETCH (FLAGS (\\Seen))"));
  EXPECT_FALSE(literal_length("* 1 FETCH (BODY[] {12+}"));  // only clients send {n+}
  EXPECT_FALSE(literal_length("* OK {abc}"));
  EXPECT_FALSE(literal_length("* OK {}"));
  EXPECT_FALSE(literal_length("* OK {12} trailing"));
  EXPECT_FALSE(literal_length("}"));
  EXPECT_FALSE(literal_length(""));
  EXPECT_FALSE(literal_length("* OK {99999999999999999999}"));
}

TEST(ImapLines, TaggedLinesAreMatchedByWholeTag) {
  EXPECT_TRUE(is_tagged_ok("C1 OK done", "C1"));
  EXPECT_TRUE(is_tagged("C1 NO [OVERQUOTA] full", "C1"));
  EXPECT_FALSE(is_tagged_ok("C1 NO [OVERQUOTA] full", "C1"));
  EXPECT_FALSE(is_tagged("C10 OK done", "C1"));
  EXPECT_FALSE(is_tagged("* OK C1", "C1"));
}

TEST(ImapLines, QuotedStringsEscapeQuoteAndBackslash) {
  EXPECT_EQ(imap_quoted("joe@example.test"), "\"joe@example.test\"");
  EXPECT_EQ(imap_quoted("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_THROW(imap_quoted("pass\r\nX LOGOUT"), std::invalid_argument);
  EXPECT_THROW(imap_quoted(std::string_view("a\0b", 3)), std::invalid_argument);
}

}  // namespace
}  // namespace loadgen
