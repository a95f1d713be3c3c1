#include "observe/protocol_log.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace postern::observe {

namespace {

namespace fs = std::filesystem;

std::string temp_dir() {
  auto p =
      fs::temp_directory_path() / ("postern-plog-" + std::to_string(::getpid()) + "-" +
                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(p);
  return p.string();
}

std::string line_of(std::string_view session, uint64_t seq, std::string_view params) {
  protocol_log_line l;
  l.time = std::chrono::system_clock::now();
  l.session_id = session;
  l.seq = seq;
  l.server = "127.0.0.1:995";
  l.client = "192.0.2.7:51234";
  l.user = "joe@example.com";
  l.command = "PASS";
  l.parameters = params;
  l.context = "R=ok";
  return format_line(l);
}

uint64_t folder_bytes(const std::string& dir, size_t* files = nullptr) {
  uint64_t total = 0;
  size_t n = 0;
  for (auto& e : fs::directory_iterator(dir)) {
    total += e.file_size();
    ++n;
  }
  if (files) *files = n;
  return total;
}

}  // namespace

TEST(ProtocolLog, FieldsAreEscapedSoAClientCannotAddALineOrAField) {
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  auto line = line_of("S1", 3, "x\r\n2026-01-01T00:00:00.000Z,FAKE,1,...");
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // one line, whatever the client sent
  EXPECT_NE(line.find("\"x\\x0d\\x0a2026"), std::string::npos);
  EXPECT_TRUE(line.starts_with("20"));
  EXPECT_NE(line.find(",S1,3,127.0.0.1:995,192.0.2.7:51234,joe@example.com,0,0,0,PASS,"),
            std::string::npos);
}

TEST(ProtocolLog, WritesTheExchangeHeaderAndRollsBySize) {
  auto root = temp_dir();
  {
    protocol_log log(root);
    EXPECT_FALSE(log.enabled("pop3"));
    EXPECT_FALSE(log.append("pop3", line_of("S", 1, "x")));  // off: nothing queued
    protocol_log_limits limits;
    limits.enabled = true;
    limits.max_file_size = 64 * 1024;
    limits.max_directory_size = 10 << 20;
    log.configure("pop3", limits);
    EXPECT_TRUE(log.enabled("pop3"));
    EXPECT_FALSE(log.enabled("imap"));
    for (int i = 0; i < 2000; ++i) ASSERT_TRUE(log.append("pop3", line_of("S", i, "*****")));
    log.flush();
    EXPECT_EQ(log.written(), 2000u);
    EXPECT_EQ(log.dropped(), 0u);
  }
  size_t files = 0;
  folder_bytes(root + "/pop3", &files);
  EXPECT_GE(files, 3u);  // about 200 KiB in 64 KiB files
  size_t lines = 0;
  for (auto& e : fs::directory_iterator(root + "/pop3")) {
    EXPECT_LE(e.file_size(), 64u * 1024);
    auto name = e.path().filename().string();
    EXPECT_TRUE(name.starts_with("POP3-")) << name;
    std::ifstream in(e.path());
    std::string first, line;
    std::getline(in, first);
    EXPECT_EQ(first, "#Software: Postern " POSTERN_VERSION "\r");
    bool fields = false;
    while (std::getline(in, line)) {
      if (line.starts_with("#Fields: ")) {
        fields = true;
        EXPECT_EQ(line, "#Fields: " + std::string(protocol_log_fields) + "\r");
      } else if (!line.starts_with("#")) {
        ++lines;
      }
    }
    EXPECT_TRUE(fields) << name;
  }
  EXPECT_EQ(lines, 2000u);
  fs::remove_all(root);
}

TEST(ProtocolLog, TheFolderStaysUnderItsBoundAndOldFilesGo) {
  auto root = temp_dir();
  fs::create_directories(root + "/imap");
  // A file older than max_age, left by an earlier run.
  auto old = root + "/imap/IMAP-20200101-1.LOG";
  std::ofstream(old) << "#Fields: x\r\n";
  fs::last_write_time(old, fs::file_time_type::clock::now() - std::chrono::hours(24 * 40));
  {
    protocol_log log(root);
    protocol_log_limits limits;
    limits.enabled = true;
    limits.max_file_size = 64 * 1024;
    limits.max_directory_size = 1 << 20;
    limits.max_age = std::chrono::hours(24 * 30);
    log.configure("imap", limits);
    std::string big(900, 'p');
    for (int i = 0; i < 4000; ++i) log.append("imap", line_of("S", i, big));
    log.flush();
    EXPECT_GT(log.written(), 3000u);
  }
  EXPECT_FALSE(fs::exists(old));
  EXPECT_LE(folder_bytes(root + "/imap"), (1u << 20) + 64 * 1024);
  fs::remove_all(root);
}

TEST(ProtocolLog, AFullQueueDropsAndCountsInsteadOfWaiting) {
  auto root = temp_dir();
  protocol_log log(root, 4096);  // a queue of 4 KiB
  protocol_log_limits limits;
  limits.enabled = true;
  log.configure("lmtp", limits);
  size_t accepted = 0;
  for (int i = 0; i < 10000; ++i) accepted += log.append("lmtp", line_of("S", i, "x")) ? 1 : 0;
  log.flush();
  EXPECT_EQ(log.written() + log.dropped(), 10000u);
  EXPECT_EQ(log.written(), accepted);
  EXPECT_GT(log.dropped(), 0u);
  fs::remove_all(root);
}

}  // namespace postern::observe
