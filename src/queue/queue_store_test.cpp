#include "queue/queue_store.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "queue/dsn.hpp"
#include "queue/relay_worker.hpp"

namespace postern::queue {
namespace {

std::string temp_dir() {
  auto p = std::filesystem::temp_directory_path() /
           ("postern-queue-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(p);
  return p.string();
}

new_message two_domains() {
  new_message m;
  m.sender = "joe@example.com";
  m.user = "joe@example.com";
  m.user_id = 7;
  m.message_id = "<m1@example.com>";
  m.recipients = {{"a@one.test", "", ""},
                  {"b@two.test", "FAILURE", "rfc822;b@two.test"},
                  {"c@ONE.test", "", ""}};
  return m;
}

std::string file_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

TEST(QueueStore, EnqueueKeepsTheBytesAndGroupsDueRecipientsByDomain) {
  auto dir = temp_dir();
  auto q = queue_store::open(dir);
  ASSERT_TRUE(q);
  std::string bytes = "Subject: x\r\n\r\n.dot\r\n";
  message_source src;
  src.memory = bytes;
  auto id = (*q)->enqueue(two_domains(), src, 1000);
  ASSERT_TRUE(id);
  EXPECT_EQ(file_text((*q)->message_path(*id)), bytes);
  auto due = (*q)->due(1000, 10);
  ASSERT_TRUE(due);
  ASSERT_EQ(due->size(), 2u);  // one.test and two.test
  EXPECT_EQ((*due)[0].recipients.size(), 2u);
  EXPECT_EQ((*due)[0].recipients[0].domain, "one.test");
  EXPECT_EQ((*due)[0].recipients[1].domain, "one.test");
  EXPECT_EQ((*due)[1].recipients[0].notify, "FAILURE");
  EXPECT_EQ((*due)[1].recipients[0].orcpt, "rfc822;b@two.test");
  EXPECT_EQ((*due)[0].size, bytes.size());
  std::filesystem::remove_all(dir);
}

TEST(QueueStore, RetriesWaitFinishedMessagesGoAndFlushMakesThemDue) {
  auto dir = temp_dir();
  auto q = queue_store::open(dir);
  ASSERT_TRUE(q);
  message_source src;
  src.memory = "Subject: x\r\n\r\nbody\r\n";
  auto id = (*q)->enqueue(two_domains(), src, 1000);
  ASSERT_TRUE(id);
  auto due = (*q)->due(1000, 10);
  ASSERT_TRUE(due);
  for (auto& m : *due)
    for (auto& r : m.recipients)
      ASSERT_TRUE(
          (*q)->record(r.id, r.domain == "one.test" ? "sent" : "queued", "451 later", 1060));
  EXPECT_TRUE((*q)->due(1000, 10)->empty());
  auto later = (*q)->due(1060, 10);
  ASSERT_EQ(later->size(), 1u);
  EXPECT_EQ(later->front().recipients.front().attempts, 1u);
  EXPECT_EQ(later->front().recipients.front().last_reply, "451 later");
  auto st = (*q)->stats();
  EXPECT_EQ(st->messages, 1u);
  EXPECT_EQ(st->recipients, 1u);
  EXPECT_EQ(st->oldest, 1000);
  EXPECT_EQ(*(*q)->flush(*id), 1u);
  EXPECT_EQ((*q)->due(1000, 10)->size(), 1u);
  EXPECT_EQ((*q)->flush("nope").err().code, base::errc::not_found);
  // Deleting the last waiting recipient finishes the message: rows and file go.
  EXPECT_EQ(*(*q)->remove(*id), 1u);
  EXPECT_EQ(*(*q)->collect_finished(), 1u);
  EXPECT_FALSE(std::filesystem::exists((*q)->message_path(*id)));
  EXPECT_EQ((*q)->get(*id).err().code, base::errc::not_found);
  std::filesystem::remove_all(dir);
}

TEST(QueueStore, EnqueueCopiesFromAFileAndRecoverRemovesOnlyUnrowedFiles) {
  auto dir = temp_dir();
  auto q = queue_store::open(dir);
  ASSERT_TRUE(q);
  std::string bytes(300 * 1024, 'x');
  auto spool = dir + "/spool";
  { std::ofstream(spool, std::ios::binary) << bytes; }
  int fd = ::open(spool.c_str(), O_RDONLY);
  message_source src;
  src.fd = fd;
  src.size = bytes.size();
  auto id = (*q)->enqueue(two_domains(), src, 1000);
  ::close(fd);
  ASSERT_TRUE(id);
  EXPECT_EQ(file_text((*q)->message_path(*id)), bytes);
  // What a kill between the file and its rows leaves behind.
  { std::ofstream(dir + "/queue/messages/0000000001deadbeef.eml") << "orphan"; }
  { std::ofstream(dir + "/queue/messages/x.eml.tmp") << "partial"; }
  EXPECT_EQ(*(*q)->recover(), 2u);
  EXPECT_TRUE(std::filesystem::exists((*q)->message_path(*id)));
  // Reopened, the message is all there.
  q->reset();
  auto again = queue_store::open(dir);
  ASSERT_TRUE(again);
  auto m = (*again)->get(*id);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->recipients.size(), 3u);
  EXPECT_EQ(m->sender, "joe@example.com");
  std::filesystem::remove_all(dir);
}

TEST(RelayWorker, RetryDelayDoublesFromAMinuteToAnHour) {
  EXPECT_EQ(retry_delay(1).count(), 60);
  EXPECT_EQ(retry_delay(2).count(), 120);
  EXPECT_EQ(retry_delay(3).count(), 240);
  EXPECT_EQ(retry_delay(6).count(), 1920);
  EXPECT_EQ(retry_delay(7).count(), 3600);
  EXPECT_EQ(retry_delay(100).count(), 3600);
}

TEST(Dsn, StatusComesFromTheReplyOrTheCode) {
  EXPECT_EQ(status_of(550, "550 5.1.1 <x@y>: no such user"), "5.1.1");
  EXPECT_EQ(status_of(550, "550 no such user"), "5.0.0");
  EXPECT_EQ(status_of(451, "451 4.7.1 greylisted"), "4.7.1");
  EXPECT_EQ(status_of(0, "connection refused"), "4.0.0");
  EXPECT_EQ(status_of(550, "550 4.1.1 mismatched class"), "5.0.0");
}

TEST(Dsn, NotifyDecidesWhichReportsGoOut) {
  EXPECT_TRUE(wants_report("", dsn_request::kind::failed));
  EXPECT_TRUE(wants_report("", dsn_request::kind::delayed));
  EXPECT_FALSE(wants_report("NEVER", dsn_request::kind::failed));
  EXPECT_TRUE(wants_report("FAILURE", dsn_request::kind::failed));
  EXPECT_FALSE(wants_report("FAILURE", dsn_request::kind::delayed));
  EXPECT_TRUE(wants_report("SUCCESS,DELAY", dsn_request::kind::delayed));
  // Success is reported only when asked for (RFC 3461 §4.1).
  EXPECT_FALSE(wants_report("", dsn_request::kind::delivered));
  EXPECT_FALSE(wants_report("FAILURE", dsn_request::kind::relayed));
  EXPECT_TRUE(wants_report("SUCCESS", dsn_request::kind::delivered));
  EXPECT_TRUE(wants_report("success,failure", dsn_request::kind::relayed));
}

TEST(Dsn, ReportIsAMultipartReportWithOneBlockPerRecipient) {
  queued_message m;
  m.id = "q1";
  m.sender = "joe@example.com";
  m.message_id = "<m1@example.com>";
  m.envid = "ENV1";
  m.created = 1700000000;
  dsn_request r;
  r.reporting_host = "mail.test";
  r.remote = "relay.test [192.0.2.1]:25";
  r.message = &m;
  r.recipients = {{"a@x.test", "rfc822;a@x.test", "5.1.1", "550 5.1.1 no such user\r\nInjected: 1"},
                  {"b@x.test", "", "5.2.2", "552 5.2.2 over quota"}};
  r.original = "Subject: hello\r\nFrom: joe@example.com\r\n";
  r.now = 1700000100;
  auto text = make_dsn(r);
  EXPECT_NE(text.find("Content-Type: multipart/report; report-type=delivery-status;"),
            std::string::npos);
  EXPECT_NE(text.find("Reporting-MTA: dns; mail.test\r\nOriginal-Envelope-Id: ENV1\r\n"),
            std::string::npos);
  EXPECT_NE(text.find("Original-Recipient: rfc822;a@x.test\r\nFinal-Recipient: rfc822; a@x.test"
                      "\r\nAction: failed\r\nStatus: 5.1.1\r\n"),
            std::string::npos);
  EXPECT_NE(text.find("Final-Recipient: rfc822; b@x.test"), std::string::npos);
  // A reply's line break cannot inject a field.
  EXPECT_EQ(text.find("\r\nInjected: 1"), std::string::npos);
  EXPECT_NE(text.find("Content-Type: text/rfc822-headers\r\n\r\nSubject: hello"),
            std::string::npos);
  EXPECT_NE(text.find("To: <joe@example.com>"), std::string::npos);
}

}  // namespace
}  // namespace postern::queue
