// The full-text index of a SQLite mailbox: queued with the message, taken in
// by index_queued(), answered by search_text() exactly (substrings, short
// needles), forgotten at expunge, rebuilt by reindex(), checked by check().
#include "store/fts_index.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "db/sqlite.hpp"
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

// Whatever the needle, the index's answer is exactly the messages whose
// folded body holds it (RFC 9051 §6.4.4), word parts, word edges, phrases,
// punctuation and all: checked against a plain substring search over random
// texts and random needles cut out of them.
TEST(FullTextIndex, AnswersAreExactlyTheSubstringMatches) {
  auto dir = temp_dir();
  auto st = make_sqlite_store(dir);
  auto mb = *st->open(1);
  const std::vector<std::string> vocabulary = {
      "port",       "report", "reports", "portable",  "sport",      "airport",
      "re",         "po",     "x",       "caf\u00e9", "Caf\u00e9s", "\u00fcber",
      "na\u00efve", "ab12",   "12ab",    "sender",    "example"};
  const std::vector<std::string> glue = {" ", "  ", ", ", ".", "-", "@", ": ", "/"};
  std::mt19937 rng(42);
  auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  std::vector<std::string> bodies;
  for (int i = 0; i < 120; ++i) {
    std::string body;
    const int n = 1 + static_cast<int>(rng() % 12);
    for (int k = 0; k < n; ++k) body += (k ? pick(glue) : "") + pick(vocabulary);
    bodies.push_back(body);
    ASSERT_TRUE(mb->append("INBOX", {mail("m" + std::to_string(i), body), 0, 0}));
  }
  ASSERT_TRUE(mb->index_queued(1000));
  std::vector<std::string> folded;
  for (auto& b : bodies) folded.push_back(mime::search_fold(b));
  std::vector<std::string> needles = {
      "port", " port", "port ", "report,", "rt, re",    "caf\u00e9",      "CAFE", "uber", "a",
      "12",   "2a",    "@",     " ",       "ab12-12ab", "sender@example", "zzz",  "po.",  "xx"};
  for (int i = 0; i < 200; ++i) {
    auto& f = folded[rng() % folded.size()];
    const size_t from = rng() % f.size();
    needles.push_back(f.substr(from, 1 + rng() % std::min<size_t>(14, f.size() - from)));
  }
  std::vector<text_query> q;
  for (auto& n : needles) q.push_back({text_field::body, mime::search_fold(n)});
  auto a = mb->search_text(q);
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->unindexed.empty());
  for (size_t i = 0; i < needles.size(); ++i) {
    std::vector<uint32_t> expected;
    for (size_t m = 0; m < folded.size(); ++m)
      if (folded[m].find(q[i].folded) != std::string::npos)
        expected.push_back(static_cast<uint32_t>(m + 1));
    EXPECT_EQ(uids_of(*mb, *a, i), expected) << "needle '" << needles[i] << "'";
  }
  std::filesystem::remove_all(dir);
}

// FUZZY from the index scores every message as mime::fuzzy_match() scores
// its text in memory (what SEARCH does before a message is indexed).
TEST(FullTextIndex, FuzzyFromTheIndexAgreesWithTheTextInMemory) {
  auto dir = temp_dir();
  auto st = make_sqlite_store(dir);
  auto mb = *st->open(1);
  const std::vector<std::string> bodies = {"the quarterly report is ready",
                                           "the quartely numbers",
                                           "report quarterly",
                                           "we receive mail",
                                           "recieve it",
                                           "quarter",
                                           "nothing alike here",
                                           "rep ort quar terly",
                                           "reports quarterlies"};
  for (auto& b : bodies) ASSERT_TRUE(mb->append("INBOX", {mail("s", b), 0, 0}));
  ASSERT_TRUE(mb->index_queued(100));
  const std::vector<std::string> needles = {"quarterly report", "receive", "quartely",
                                            "report",           "qu",      "recieve"};
  std::vector<text_query> q;
  for (auto& n : needles) q.push_back({text_field::body, n, true});
  auto a = mb->search_text(q);
  ASSERT_TRUE(a);
  auto metas = mb->list("INBOX");
  for (size_t i = 0; i < needles.size(); ++i) {
    for (size_t m = 0; m < bodies.size(); ++m) {
      const auto blob = static_cast<int64_t>((*metas)[m].blob_id);
      auto& hits = a->hits[i];
      auto it = std::find(hits.begin(), hits.end(), blob);
      const uint8_t got =
          it == hits.end() ? 0 : a->scores[i][static_cast<size_t>(it - hits.begin())];
      EXPECT_EQ(got, mime::fuzzy_match(bodies[m], needles[i]))
          << "'" << needles[i] << "' in '" << bodies[m] << "'";
    }
  }
  std::filesystem::remove_all(dir);
}

// An index of the earlier trigram format is emptied when opened, and every
// message is queued for the indexer again.
TEST(FullTextIndex, AnIndexOfTheOlderFormatIsBuiltAgain) {
  auto dir = temp_dir();
  {
    auto st = make_sqlite_store(dir);
    auto mb = *st->open(1);
    ASSERT_TRUE(mb->append("INBOX", {mail("one", "first body"), 0, 0}));
    ASSERT_TRUE(mb->append("INBOX", {mail("two", "second body"), 0, 0}));
    ASSERT_TRUE(mb->index_queued(100));
  }
  {
    // The file as format 1 left it.
    std::filesystem::remove(dir + "/mail/1/fts.sqlite");
    auto old = db::database::open(dir + "/mail/1/fts.sqlite", true);
    ASSERT_TRUE(old);
    ASSERT_TRUE(old->exec(
        "CREATE VIRTUAL TABLE docs USING fts5(subject, from_addr, to_addr, cc_addr, bcc_addr,"
        " headers, body, tokenize = 'trigram case_sensitive 1');"
        "CREATE TABLE truncated(blob INTEGER PRIMARY KEY);"
        "INSERT INTO docs(rowid, body) VALUES(1, 'stale text')"));
  }
  auto st = make_sqlite_store(dir);
  auto mb = *st->open(1);
  auto before = mb->search_text(std::vector<text_query>{{text_field::body, "second"}});
  ASSERT_TRUE(before);
  EXPECT_EQ(before->unindexed.size(), 2u);  // queued again: SEARCH reads them meanwhile
  ASSERT_TRUE(mb->index_queued(100));
  auto after = mb->search_text(
      std::vector<text_query>{{text_field::body, "second"}, {text_field::body, "stale"}});
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->unindexed.empty());
  EXPECT_EQ(uids_of(*mb, *after, 0), (std::vector<uint32_t>{2}));
  EXPECT_TRUE(after->hits[1].empty());
  auto rep = mb->check(check_mode::check);
  ASSERT_TRUE(rep);
  EXPECT_TRUE(rep->findings.empty());
  std::filesystem::remove_all(dir);
}

// Format 2 had a UNIQUE index on `terms`: the table is copied without it,
// ids kept (the vocabulary's trigram index refers to them), nothing indexed
// again.
TEST(FullTextIndex, FormatTwoLosesOnlyItsUniqueIndex) {
  auto dir = temp_dir();
  {
    auto st = make_sqlite_store(dir);
    auto mb = *st->open(1);
    ASSERT_TRUE(mb->append("INBOX", {mail("one", "alphabetical first body"), 0, 0}));
    ASSERT_TRUE(mb->append("INBOX", {mail("two", "second bodywork"), 0, 0}));
    ASSERT_TRUE(mb->index_queued(100));
  }
  {
    // `terms` as format 2 had it.
    auto old = db::database::open(dir + "/mail/1/fts.sqlite", true);
    ASSERT_TRUE(old);
    ASSERT_TRUE(
        old->exec("CREATE TABLE t2(id INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE);"
                  " INSERT INTO t2 SELECT id, term FROM terms; DROP TABLE terms;"
                  " ALTER TABLE t2 RENAME TO terms; PRAGMA user_version = 2;"));
  }
  auto st = make_sqlite_store(dir);
  auto mb = *st->open(1);
  auto a = mb->search_text(
      std::vector<text_query>{{text_field::body, "phabet"}, {text_field::body, "odywor"}});
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->unindexed.empty());  // not queued again
  EXPECT_EQ(uids_of(*mb, *a, 0), (std::vector<uint32_t>{1}));
  EXPECT_EQ(uids_of(*mb, *a, 1), (std::vector<uint32_t>{2}));
  {
    auto db = db::database::open(dir + "/mail/1/fts.sqlite", true);
    ASSERT_TRUE(db);
    auto sql = db->prepare("SELECT sql FROM sqlite_master WHERE name = 'terms'");
    ASSERT_TRUE(sql);
    ASSERT_EQ(sql->step(), db::step_result::row);
    EXPECT_EQ(sql->text(0).find("UNIQUE"), std::string::npos) << sql->text(0);
    auto v = db->prepare("PRAGMA user_version");
    ASSERT_TRUE(v);
    ASSERT_EQ(v->step(), db::step_result::row);
    EXPECT_EQ(v->int64(0), 3);
  }
  auto rep = mb->check(check_mode::check);
  ASSERT_TRUE(rep);
  EXPECT_TRUE(rep->findings.empty());
  std::filesystem::remove_all(dir);
}

// `terms` may list a word twice (a burst takes words it has not seen lately
// as new): answers stay exact and say each message once, whether the words
// came in a burst, trickled in one by one, or after the index was reopened.
TEST(FullTextIndex, AWordListedTwiceStillAnswersOnce) {
  auto dir = temp_dir();
  auto body = [](int i) {
    return "common words and shared" + std::to_string(i % 3) + " token" + std::to_string(i);
  };
  {
    auto st = make_sqlite_store(dir);
    auto mb = *st->open(1);
    for (int i = 0; i < 40; ++i)  // a burst: one batch of 40
      ASSERT_TRUE(mb->append("INBOX", {mail("burst", body(i)), 0, 0}));
    ASSERT_TRUE(mb->index_queued(100));
  }
  {
    auto st = make_sqlite_store(dir);  // reopened: nothing remembered
    auto mb = *st->open(1);
    for (int i = 40; i < 80; ++i) ASSERT_TRUE(mb->append("INBOX", {mail("burst", body(i)), 0, 0}));
    ASSERT_TRUE(mb->index_queued(100));
    for (int i = 80; i < 84; ++i) {  // trickling in: each asks the index
      ASSERT_TRUE(mb->append("INBOX", {mail("trickle", body(i)), 0, 0}));
      ASSERT_TRUE(mb->index_queued(100));
    }
  }
  {
    auto db = db::database::open(dir + "/mail/1/fts.sqlite", true);
    ASSERT_TRUE(db);
    auto n = db->prepare("SELECT count(*) FROM terms WHERE term = 'shared1'");
    ASSERT_TRUE(n);
    ASSERT_EQ(n->step(), db::step_result::row);
    EXPECT_EQ(n->int64(0), 2);  // once per burst, not again while trickling
  }
  auto st = make_sqlite_store(dir);
  auto mb = *st->open(1);
  std::vector<text_query> q = {{text_field::body, "hared1"},
                               {text_field::body, "common words"},
                               {text_field::body, "token83"},
                               {text_field::body, "shared1", true}};
  auto a = mb->search_text(q);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->unindexed.empty());
  std::vector<uint32_t> shared1;
  for (uint32_t uid = 1; uid <= 84; ++uid)
    if ((uid - 1) % 3 == 1) shared1.push_back(uid);
  EXPECT_EQ(uids_of(*mb, *a, 0), shared1);
  EXPECT_EQ(uids_of(*mb, *a, 1).size(), 84u);
  EXPECT_EQ(uids_of(*mb, *a, 2), (std::vector<uint32_t>{84}));
  EXPECT_EQ(a->hits[3].size(), a->scores[3].size());
  EXPECT_TRUE(std::is_sorted(a->hits[0].begin(), a->hits[0].end()));
  EXPECT_EQ(std::adjacent_find(a->hits[0].begin(), a->hits[0].end()), a->hits[0].end());
  EXPECT_EQ(std::adjacent_find(a->hits[3].begin(), a->hits[3].end()), a->hits[3].end());
  auto rep = mb->check(check_mode::check);
  ASSERT_TRUE(rep);
  EXPECT_TRUE(rep->findings.empty());
  std::filesystem::remove_all(dir);
}

// A small batch asks the words index about at most 4,096 words it does not
// remember: a message of made-up words costs little, and the rest are
// listed again, still found.
TEST(FullTextIndex, ATrickledMessageOfManyWordsAsksTheIndexAboutAFew) {
  auto dir = temp_dir();
  std::string body;
  for (int i = 0; i < 5000; ++i) body += "w" + std::to_string(i) + "x ";
  {
    auto st = make_sqlite_store(dir);
    auto mb = *st->open(1);
    ASSERT_TRUE(mb->append("INBOX", {mail("same", body), 0, 0}));
    ASSERT_TRUE(mb->index_queued(100));
    ASSERT_TRUE(mb->append("INBOX", {mail("same", body), 0, 0}));
    ASSERT_TRUE(mb->index_queued(100));  // nothing remembered: the queue ran empty
  }
  {
    auto db = db::database::open(dir + "/mail/1/fts.sqlite", true);
    ASSERT_TRUE(db);
    // The second message holds only words of the first: 4,096 were looked
    // up and found, every other one listed a second time.
    auto n = db->prepare("SELECT count(*), count(DISTINCT term) FROM terms");
    ASSERT_TRUE(n);
    ASSERT_EQ(n->step(), db::step_result::row);
    EXPECT_GT(n->int64(1), 5000);
    EXPECT_EQ(n->int64(0) - n->int64(1), n->int64(1) - 4096);
  }
  auto st = make_sqlite_store(dir);
  auto mb = *st->open(1);
  auto a = mb->search_text(
      std::vector<text_query>{{text_field::body, "4999x"}, {text_field::body, "w17x w18x"}});
  ASSERT_TRUE(a);
  EXPECT_EQ(uids_of(*mb, *a, 0), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(uids_of(*mb, *a, 1), (std::vector<uint32_t>{1, 2}));
  std::filesystem::remove_all(dir);
}

// Once as many documents were added as merge_after (and half of all), the
// segments are merged step by step; answers stay the same, and with nothing
// added since, there is nothing to merge.
TEST(FullTextIndex, SegmentsAreMergedOnceEnoughWasAdded) {
  auto dir = temp_dir();
  std::filesystem::create_directories(dir);
  auto idx = fts_index::open(dir + "/fts.sqlite");
  ASSERT_TRUE(idx);
  auto batch = [&](int64_t from, int64_t n) {
    std::vector<std::pair<int64_t, mime::search_document>> docs;
    for (int64_t id = from; id < from + n; ++id) {
      mime::search_document d;
      d.body = "word" + std::to_string(id % 97) + " common text number" + std::to_string(id);
      docs.emplace_back(id, std::move(d));
    }
    ASSERT_TRUE((*idx)->put(docs, {}));
  };
  batch(1, 500);
  auto early = (*idx)->merge_step();
  ASSERT_TRUE(early);
  EXPECT_FALSE(*early);  // fewer than merge_after added: nothing yet
  for (int64_t from = 501; from < 1501; from += 100) batch(from, 100);
  auto before = (*idx)->match(text_field::body, "word42");
  ASSERT_TRUE(before);
  EXPECT_EQ(before->size(), 16u);  // 42, 139, ... 1497
  auto first = (*idx)->merge_step();
  ASSERT_TRUE(first);
  EXPECT_TRUE(*first);  // eleven segments: work to do
  int steps = 1;
  for (;;) {
    auto more = (*idx)->merge_step();
    ASSERT_TRUE(more);
    if (!*more) break;
    ASSERT_LT(++steps, 1000);
  }
  auto after = (*idx)->match(text_field::body, "word42");
  ASSERT_TRUE(after);
  EXPECT_EQ(*after, *before);
  auto again = (*idx)->merge_step();
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  EXPECT_TRUE((*idx)->integrity());
  // The repair's rebuild makes words, terms and vocabulary again from the
  // stored text: the same answers, a word part included.
  ASSERT_TRUE((*idx)->rebuild());
  EXPECT_TRUE((*idx)->integrity());
  auto rebuilt = (*idx)->match(text_field::body, "word42");
  ASSERT_TRUE(rebuilt);
  EXPECT_EQ(*rebuilt, *before);
  auto part = (*idx)->match(text_field::body, "mber149");
  ASSERT_TRUE(part);
  EXPECT_EQ(*part, (std::vector<int64_t>{149, 1490, 1491, 1492, 1493, 1494, 1495, 1496, 1497, 1498,
                                         1499}));
  idx->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace postern::store
