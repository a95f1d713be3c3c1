#include "session/submission/message_header.hpp"

#include <gtest/gtest.h>

namespace postern::session::submission {

TEST(SubmissionHeader, FromAddressesWithoutNamesAndComments) {
  EXPECT_EQ(mailbox_addresses(" Ann <ann@example.com>"),
            (std::vector<std::string>{"ann@example.com"}));
  EXPECT_EQ(mailbox_addresses(" \"Doe, John\" <j@example.com>, bob@example.com (Bob, B.)"),
            (std::vector<std::string>{"j@example.com", "bob@example.com"}));
  EXPECT_EQ(mailbox_addresses(" team: a@example.com, b@example.com;"),
            (std::vector<std::string>{"a@example.com", "b@example.com"}));
  EXPECT_EQ(mailbox_addresses(" undisclosed-recipients:;"), std::vector<std::string>{});
}

TEST(SubmissionHeader, ReadsWhatSubmissionNeeds) {
  auto h = read_header(
      "From: Ann <ann@example.com>\r\nTo: bob@example.com\r\nDATE: Sun, 6 Dec 2026 10:00 "
      "+0000\r\nSubject: hi\r\n");
  EXPECT_EQ(h.from, (std::vector<std::string>{"ann@example.com"}));
  EXPECT_TRUE(h.date);
  EXPECT_FALSE(h.message_id);
  EXPECT_FALSE(h.sender);
}

TEST(SubmissionHeader, BccGoesWithItsContinuationLines) {
  auto out = rewrite_header(
      "From: a@example.com\r\nBcc: secret@example.com,\r\n other@example.com\r\nbcc: "
      "x@example.com\r\nSubject: hi\r\n",
      "Message-ID: <1@h>\r\n");
  EXPECT_EQ(out, "From: a@example.com\r\nSubject: hi\r\nMessage-ID: <1@h>\r\n");
}

TEST(SubmissionHeader, AddedFieldsAfterAHeaderWithoutFinalLineBreak) {
  EXPECT_EQ(rewrite_header("Subject: x", "Date: d\r\n"), "Subject: x\r\nDate: d\r\n");
  EXPECT_EQ(rewrite_header("", "Date: d\r\n"), "Date: d\r\n");
}

}  // namespace postern::session::submission
