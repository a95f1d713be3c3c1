// The full-text index of a SQLite mailbox: queued with the message, taken in
// by index_queued(), answered by search_text() exactly (substrings, short
// needles), forgotten at expunge, rebuilt by reindex(), checked by check().
#include "store/fts_index.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "mime/search_fold.hpp"
#include "store/store.hpp"

namespace postern::store {

namespace {
std::string temp_dir() {
  auto p = std::filesystem::temp_directory_path() /
           ("postern-fts-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(p);
  return p.string();
}

std::string mail(const std::string& subject, const std::string& body) {
  return "From: Sender <sender@example.org>\r\nSubject: " + subject + "\r\n\r\n" + body + "\r\n";
}

std::vector<uint32_t> uids_of(mailbox& mb, const text_answer& a, size_t query) {
  auto metas = mb.list("INBOX");
  std::vector<uint32_t> out;
  for (auto& m : *metas) {
    auto& h = a.hits[query];
    if (std::binary_search(h.begin(), h.end(), static_cast<int64_t>(m.blob_id)))
      out.push_back(m.uid);
  }
  return out;
}
}  // namespace

TEST(FullTextIndex, QueuedAtDeliveryIndexedThenAnsweredExactly) {
  auto dir = temp_dir();
  auto st = make_sqlite_store(dir);
  auto mb = *st->open(1);
  ASSERT_TRUE(mb->append("INBOX", {mail("Quarterly report", "the Caf\u00e9 numbers"), 0, 0}));
  ASSERT_TRUE(mb->append("INBOX", {mail("Lunch", "shall we meet at noon"), 0, 0}));
  auto before = mb->search_text(std::vector<text_query>{{text_field::body, "numbers"}});
  ASSERT_TRUE(before);
  EXPECT_EQ(before->unindexed.size(), 2u);  // not indexed yet: SEARCH reads them
  auto turn = mb->index_queued(100);
  ASSERT_TRUE(turn);
  EXPECT_EQ(turn->indexed, 2u);
  EXPECT_EQ(turn->queued, 0u);
  std::vector<text_query> q = {{text_field::body, mime::search_fold("CAFE")},
                               {text_field::body, "umber"},  // inside a word
                               {text_field::subject, "lunch"},
                               {text_field::body, "at"},  // under three characters
                               {text_field::text, "quarterly"},
                               {text_field::from, "sender@example.org"},
                               {text_field::body, "numbers the"}};
  auto a = mb->search_text(q);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->unindexed.empty());
  EXPECT_EQ(uids_of(*mb, *a, 0), (std::vector<uint32_t>{1}));
  EXPECT_EQ(uids_of(*mb, *a, 1), (std::vector<uint32_t>{1}));
  EXPECT_EQ(uids_of(*mb, *a, 2), (std::vector<uint32_t>{2}));
  EXPECT_EQ(uids_of(*mb, *a, 3), (std::vector<uint32_t>{2}));  // "at noon", not "Café"
  EXPECT_EQ(uids_of(*mb, *a, 4), (std::vector<uint32_t>{1}));
  EXPECT_EQ(uids_of(*mb, *a, 5), (std::vector<uint32_t>{1, 2}));
  EXPECT_TRUE(uids_of(*mb, *a, 6).empty());  // words in another order
  std::filesystem::remove_all(dir);
}

TEST(FullTextIndex, ExpungeForgetsCopiesShareAndReindexRebuilds) {
  auto dir = temp_dir();
  auto st = make_sqlite_store(dir);
  auto mb = *st->open(1);
  ASSERT_TRUE(mb->append("INBOX", {mail("one", "unique-token-alpha"), 0, 0}));
  ASSERT_TRUE(mb->append("INBOX", {mail("two", "unique-token-beta"), 0, 0}));
  ASSERT_TRUE(mb->index_queued(100));
  ASSERT_TRUE(mb->copy("INBOX", std::vector<uint32_t>{1}, "Archive", false));
  auto state = mb->index_state();
  ASSERT_TRUE(state);
  EXPECT_EQ(state->first, 0u);  // a copy shares its file's entry
  ASSERT_TRUE(mb->expunge("INBOX", std::vector<uint32_t>{2}));
  ASSERT_TRUE(mb->index_queued(100));  // also drops what expunges freed
  auto a = mb->search_text(std::vector<text_query>{{text_field::body, "unique-token"}});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->hits[0].size(), 1u);
  auto queued = mb->reindex("");
  ASSERT_TRUE(queued);
  EXPECT_EQ(*queued, 1u);  // one file, two messages
  auto b = mb->search_text(std::vector<text_query>{{text_field::body, "unique-token"}});
  EXPECT_EQ(b->unindexed.size(), 1u);
  ASSERT_TRUE(mb->index_queued(100));
  auto c = mb->search_text(std::vector<text_query>{{text_field::body, "alpha"}});
  EXPECT_EQ(c->hits[0].size(), 1u);
  EXPECT_TRUE(c->unindexed.empty());
  std::filesystem::remove_all(dir);
}

TEST(FullTextIndex, CheckFindsMissingAndStaleEntriesAndRepairFixesThem) {
  auto dir = temp_dir();
  auto st = make_sqlite_store(dir);
  auto mb = *st->open(1);
  ASSERT_TRUE(mb->append("INBOX", {mail("one", "first body"), 0, 0}));
  ASSERT_TRUE(mb->append("INBOX", {mail("two", "second body"), 0, 0}));
  ASSERT_TRUE(mb->index_queued(100));
  {
    // A crash's leftovers: an entry for a file no message names, and a
    // message neither indexed nor queued.
    auto fts = fts_index::open(dir + "/mail/1/fts.sqlite");
    ASSERT_TRUE(fts);
    auto metas = mb->list("INBOX");
    std::vector<std::pair<int64_t, mime::search_document>> docs(1);
    docs[0].first = 42;
    ASSERT_TRUE((*fts)->put(docs, std::vector<int64_t>{static_cast<int64_t>((*metas)[1].blob_id)}));
  }
  auto rep = mb->check(check_mode::check);
  ASSERT_TRUE(rep);
  size_t text_findings = 0;
  for (auto& f : rep->findings) text_findings += f.kind == "text index";
  EXPECT_EQ(text_findings, 2u);
  auto fixed = mb->check(check_mode::repair);
  ASSERT_TRUE(fixed);
  for (auto& f : fixed->findings)
    if (f.kind == "text index") EXPECT_FALSE(f.action.empty()) << f.detail;
  ASSERT_TRUE(mb->index_queued(100));
  auto again = mb->check(check_mode::check);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->findings.empty());
  auto a = mb->search_text(std::vector<text_query>{{text_field::body, "second"}});
  EXPECT_EQ(a->hits[0].size(), 1u);
  std::filesystem::remove_all(dir);
}

}  // namespace postern::store
