// The IMAP side of the store: default folders, folder operations, flags with
// modseqs, copies sharing blobs, atomic moves and multi-appends, and views
// that every writer keeps current.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "db/sqlite.hpp"
#include "mime/imap_structure.hpp"
#include "mime/message_structure.hpp"
#include "store/folder_view.hpp"
#include "store/store.hpp"

namespace postern::store {

namespace {
std::string temp_dir() {
  auto p = std::filesystem::temp_directory_path() /
           ("postern-folders-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(p);
  return p.string();
}

const std::string msg = "From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n";

struct fixture {
  std::string dir = temp_dir();
  std::unique_ptr<store> st = make_sqlite_store(dir);
  std::shared_ptr<mailbox> mb = *st->open(1);

  uint32_t add(std::string_view folder = "INBOX") {
    auto uid = mb->append(folder, new_message{msg, 1700000000, 0});
    EXPECT_TRUE(uid) << uid.err().message;
    return uid ? *uid : 0;
  }
  // Closes the mailbox, rewrites its index with `sql` (so it looks as an
  // older format left it) and opens it again, as an upgrade finds it.
  void reopen_after(const std::string& sql) {
    mb.reset();
    st.reset();
    {
      auto db = db::database::open(dir + "/mail/1/index.sqlite", false);
      ASSERT_TRUE(db);
      ASSERT_TRUE(db->exec(sql));
    }
    st = make_sqlite_store(dir);
    auto reopened = st->open(1);
    ASSERT_TRUE(reopened) << reopened.err().message;
    mb = *reopened;
  }
  size_t blob_files() const {
    size_t n = 0;
    for (auto& e : std::filesystem::directory_iterator(dir + "/mail/1/blobs"))
      n += e.is_regular_file();
    return n;
  }
  // Messages kept in the index instead of a file (blob_file.hpp).
  int64_t inline_rows() const {
    auto db = db::database::open(dir + "/mail/1/index.sqlite", false);
    EXPECT_TRUE(db);
    if (!db) return -1;
    auto st = db->prepare("SELECT count(*) FROM inline_blobs");
    EXPECT_TRUE(st);
    return st && st->step() == db::step_result::row ? st->int64(0) : -1;
  }
  // An IMAP APPEND as the session hands it over: in memory.
  uint32_t append_in_memory(std::string_view folder, std::string_view bytes) {
    spooled_message m[] = {{nullptr, bytes.size(), 0, 0, 0, bytes}};
    std::vector<std::string> kw[] = {{}};
    auto r = mb->append_files(folder, m, kw);
    EXPECT_TRUE(r) << r.err().message;
    return r && r->uids.size() == 1 ? r->uids[0] : 0;
  }
  // The whole message behind a blob id, as FETCH and POP3 read it.
  std::string read_blob(const message_meta& m) {
    auto fd = mb->open_blob(m.blob_id, m.uid);
    EXPECT_TRUE(fd) << fd.err().message;
    if (!fd) return {};
    std::string back(m.size + 10, '\0');
    auto n = ::pread(*fd, back.data(), back.size(), 0);
    ::close(*fd);
    back.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return back;
  }
};
}  // namespace

TEST(Folders, NewMailboxHasTheSpecialUseFolders) {
  fixture f;
  auto list = f.mb->folders();
  ASSERT_TRUE(list);
  std::map<std::string, std::string> uses;
  for (auto& e : *list) uses[e.name] = e.special_use;
  EXPECT_EQ(uses.size(), 6u);
  EXPECT_EQ(uses["INBOX"], "");
  EXPECT_EQ(uses["Drafts"], "\\Drafts");
  EXPECT_EQ(uses["Sent"], "\\Sent");
  EXPECT_EQ(uses["Trash"], "\\Trash");
  EXPECT_EQ(uses["Junk"], "\\Junk");
  EXPECT_EQ(uses["Archive"], "\\Archive");
  // Every folder has its own UIDVALIDITY.
  std::set<uint32_t> validities;
  for (auto& e : *list) validities.insert(f.mb->folder(e.name)->uidvalidity);
  EXPECT_EQ(validities.size(), 6u);
}

TEST(Folders, CreateRenameDeleteWithChildren) {
  fixture f;
  ASSERT_TRUE(f.mb->create_folder("Work", ""));
  ASSERT_TRUE(f.mb->create_folder("Work/2026", ""));
  EXPECT_EQ(f.mb->create_folder("Work", "").err().code, base::errc::already_exists);
  EXPECT_EQ(f.mb->create_folder("Other", "\\Sent").err().code, base::errc::already_exists);
  f.add("Work/2026");
  ASSERT_TRUE(f.mb->rename_folder("Work", "Jobs"));
  EXPECT_EQ(f.mb->folder("Jobs/2026")->messages, 1u);
  EXPECT_EQ(f.mb->folder("Work/2026").err().code, base::errc::not_found);
  EXPECT_EQ(f.mb->delete_folder("Jobs").err().code, base::errc::in_use);
  EXPECT_EQ(f.mb->delete_folder("INBOX").err().code, base::errc::cannot);
  ASSERT_TRUE(f.mb->delete_folder("Jobs/2026"));
  ASSERT_TRUE(f.mb->delete_folder("Jobs"));
  EXPECT_EQ(f.blob_files(), 0u);
  // A re-created folder never takes an old UIDVALIDITY.
  auto before = f.mb->folder("Trash")->uidvalidity;
  ASSERT_TRUE(f.mb->delete_folder("Trash"));
  ASSERT_TRUE(f.mb->create_folder("Trash", "\\Trash"));
  EXPECT_GT(f.mb->folder("Trash")->uidvalidity, before);
}

TEST(Folders, RenamingInboxMovesItsMessagesAndLeavesItEmpty) {
  fixture f;
  f.add();
  f.add();
  auto old_validity = f.mb->folder("INBOX")->uidvalidity;
  ASSERT_TRUE(f.mb->rename_folder("INBOX", "Old"));
  EXPECT_EQ(f.mb->folder("Old")->messages, 2u);
  auto inbox = f.mb->folder("INBOX");
  ASSERT_TRUE(inbox);
  EXPECT_EQ(inbox->messages, 0u);
  EXPECT_NE(inbox->uidvalidity, old_validity);
}

TEST(Flags, StoreRaisesModseqOnlyOnChangeAndHonoursUnchangedSince) {
  fixture f;
  uint32_t a = f.add(), b = f.add();
  auto start = f.mb->folder("INBOX")->highestmodseq;
  uint32_t both[] = {a, b};
  flag_update seen{flag_change::add, flag_seen, {"$Forwarded"}, {}};
  auto r = f.mb->store_flags("INBOX", both, seen);
  ASSERT_TRUE(r) << r.err().message;
  ASSERT_EQ(r->changed.size(), 2u);
  EXPECT_GT(r->changed[1].modseq, r->changed[0].modseq);
  EXPECT_GT(r->changed[0].modseq, start);
  auto after = f.mb->folder("INBOX")->highestmodseq;
  // The same change again changes nothing and takes no modseq.
  auto again = f.mb->store_flags("INBOX", both, seen);
  EXPECT_TRUE(again->changed.empty());
  EXPECT_EQ(f.mb->folder("INBOX")->highestmodseq, after);
  // UNCHANGEDSINCE below the message's modseq refuses it.
  flag_update cond{flag_change::add, flag_flagged, {}, start};
  auto c = f.mb->store_flags("INBOX", both, cond);
  EXPECT_TRUE(c->changed.empty());
  EXPECT_EQ(c->modified.size(), 2u);
  // Keyword removal is case-insensitive.
  flag_update rm{flag_change::remove, 0, {"$forwarded"}, {}};
  EXPECT_EQ(f.mb->store_flags("INBOX", both, rm)->changed.size(), 2u);
}

TEST(Copy, SharesTheBlobAndExpungingOneCopyKeepsTheOther) {
  fixture f;
  uint32_t a = f.add();
  uint32_t one[] = {a};
  auto c = f.mb->copy("INBOX", one, "Archive", false);
  ASSERT_TRUE(c) << c.err().message;
  ASSERT_EQ(c->dest_uids.size(), 1u);
  EXPECT_EQ(c->uidvalidity, f.mb->folder("Archive")->uidvalidity);
  EXPECT_EQ(f.blob_files(), 1u);  // no bytes copied
  ASSERT_TRUE(f.mb->expunge("INBOX", one));
  EXPECT_EQ(f.blob_files(), 1u);
  auto list = f.mb->list("Archive");
  ASSERT_EQ(list->size(), 1u);
  auto fd = f.mb->open_blob((*list)[0].blob_id, (*list)[0].uid);
  ASSERT_TRUE(fd);
  ::close(*fd);
  uint32_t copied[] = {c->dest_uids[0]};
  ASSERT_TRUE(f.mb->expunge("Archive", copied));
  // The expunge's commit is not fsync'd (flags and expunges are deferred):
  // until the WAL is synced, power loss could bring the row back, so its
  // file must stay. The node's watcher syncs and unlinks within 250 ms.
  EXPECT_EQ(f.blob_files(), 1u);
  f.st->poll_external_changes();
  EXPECT_EQ(f.blob_files(), 0u);
}

TEST(Expunge, BlobWaitingForASyncGoesWithTheNextDelivery) {
  fixture f;
  uint32_t gone = f.add();
  f.add();
  ASSERT_TRUE(f.mb->expunge("INBOX", std::span(&gone, 1)));
  EXPECT_EQ(f.blob_files(), 2u);  // the expunged one waits for a sync
  f.add();                        // a delivery's commit is fsync'd, and syncs the expunge before it
  EXPECT_EQ(f.blob_files(), 2u);  // the kept message and the new one
  auto list = f.mb->list("INBOX");
  ASSERT_EQ(list->size(), 2u);
  for (auto& m : *list) EXPECT_NE(m.uid, gone);
}

TEST(Copy, MoveIsAtomicAndLeavesATombstone) {
  fixture f;
  uint32_t a = f.add(), b = f.add();
  uint32_t both[] = {a, b};
  auto m = f.mb->copy("INBOX", both, "Trash", true);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->dest_uids.size(), 2u);
  EXPECT_EQ(f.mb->folder("INBOX")->messages, 0u);
  EXPECT_EQ(f.mb->folder("Trash")->messages, 2u);
  auto again = f.mb->copy("Trash", m->dest_uids, "Trash", true);
  ASSERT_TRUE(again);
  EXPECT_GT(again->dest_uids[0], m->dest_uids[1]);
  EXPECT_EQ(f.mb->folder("Trash")->messages, 2u);
  EXPECT_EQ(f.mb->copy("INBOX", both, "Nowhere", true).err().code, base::errc::not_found);
}

TEST(Views, EveryWriterKeepsTheSharedViewCurrent) {
  fixture f;
  uint32_t a = f.add();
  auto v = f.mb->view("INBOX");
  ASSERT_TRUE(v);
  auto same = f.mb->view("INBOX");
  EXPECT_EQ(v->get(), same->get());  // one view per folder
  EXPECT_EQ((*v)->messages.size(), 1u);
  uint32_t b = f.add();
  uint32_t one[] = {a};
  f.mb->store_flags("INBOX", one, {flag_change::add, flag_seen, {"Work"}, {}});
  {
    auto lock = (*v)->reader();
    ASSERT_EQ((*v)->messages.size(), 2u);
    EXPECT_EQ((*v)->messages[1].uid, b);
    EXPECT_EQ((*v)->messages[0].flags, flag_seen);
    EXPECT_EQ((*v)->messages[0].keywords, 1u);
    EXPECT_EQ((*v)->keywords, std::vector<std::string>{"Work"});
    EXPECT_EQ((*v)->highestmodseq, f.mb->folder("INBOX")->highestmodseq);
  }
  f.mb->expunge("INBOX", one);
  {
    auto lock = (*v)->reader();
    ASSERT_EQ((*v)->messages.size(), 1u);
    ASSERT_EQ((*v)->expunged.size(), 1u);
    EXPECT_EQ((*v)->expunged[0].first, a);
  }
  // Another process (a second store on the same directory, as `postern
  // deliver` is) appends: the poll brings it into the view.
  auto other = make_sqlite_store(f.dir);
  auto sub = f.mb->changes().subscribe([](uint64_t) {});
  f.st->poll_external_changes();  // the first poll only records the version
  (*other->open(1))->append("INBOX", new_message{msg, 0, 0});
  (*other->open(1))->append("INBOX", new_message{msg, 0, 0});
  f.st->poll_external_changes();
  f.mb->changes().unsubscribe(sub);
  auto lock = (*v)->reader();
  EXPECT_EQ((*v)->messages.size(), 3u);
}

// A batch of FETCH 1:* reads its UIDs' rows in one scan of the range; a
// sparse or unordered list by UID. Either way one answer per UID asked, in
// its order, empty for a message that is gone.
TEST(KeptForFetch, RangeScanAndLookupsAnswerTheSame) {
  fixture f;
  std::vector<uint32_t> all;
  for (int i = 0; i < 12; ++i) {
    auto text = "From: a@example.com\r\nSubject: n" + std::to_string(i) + "\r\n\r\nb\r\n";
    auto u = f.mb->append("INBOX", new_message{text, 0, 0});
    ASSERT_TRUE(u);
    all.push_back(*u);
  }
  uint32_t doomed[] = {all[0], all[4], all[5], all[11]};
  ASSERT_TRUE(f.mb->expunge("INBOX", doomed));
  std::set<uint32_t> gone(std::begin(doomed), std::end(doomed));
  auto check = [&](const char* what, std::vector<uint32_t> uids) {
    SCOPED_TRACE(what);
    auto got = f.mb->structures("INBOX", uids);
    ASSERT_TRUE(got) << got.err().message;
    ASSERT_EQ(got->size(), uids.size());
    for (size_t i = 0; i < uids.size(); ++i) {
      if (gone.count(uids[i]) || uids[i] > all.back()) {
        EXPECT_FALSE((*got)[i]) << "UID " << uids[i];
        continue;
      }
      ASSERT_TRUE((*got)[i]) << "UID " << uids[i];
      ASSERT_TRUE((*got)[i]->envelope);
      auto n = std::find(all.begin(), all.end(), uids[i]) - all.begin();
      EXPECT_NE((*got)[i]->envelope->find("\"n" + std::to_string(n) + "\""), std::string::npos)
          << *(*got)[i]->envelope;
    }
  };
  check("the whole run, gone ones inside and at both ends", all);
  check("every other one: a scan with rows not asked for", {all[1], all[3], all[6], all[8]});
  check("past the end", {all[9], all[10], all[11], all[11] + 1, all[11] + 2});
  check("sparse: by UID", {all[1], all[10] + 100000});
  check("out of order: by UID", {all[7], all[2], all[9]});
  check("a repeated UID: by UID", {all[2], all[2], all[3]});
}

// This process's flag changes and expunges are patched into the view, not
// read back; whatever the order of commits, the view ends as a view loaded
// from the index by another process does.
TEST(Views, PatchedByOwnCommitsLikeAViewLoadedFromTheIndex) {
  fixture f;
  std::vector<uint32_t> uids;
  for (int i = 0; i < 6; ++i) uids.push_back(f.add());
  auto v = f.mb->view("INBOX");
  ASSERT_TRUE(v);
  auto other = make_sqlite_store(f.dir);
  auto other_mb = *other->open(1);
  auto same_as_loaded = [&](const char* after) {
    SCOPED_TRACE(after);
    f.st->poll_external_changes();
    auto other_store = make_sqlite_store(f.dir);  // a view no commit has touched
    auto loaded = (*other_store->open(1))->view("INBOX");
    ASSERT_TRUE(loaded);
    auto lock = (*v)->reader();
    auto& a = **v;
    auto& b = **loaded;
    EXPECT_EQ(a.highestmodseq, b.highestmodseq);
    ASSERT_EQ(a.messages.size(), b.messages.size());
    auto names = [](const folder_view& w, uint64_t mask) {
      std::set<std::string> out;
      for (size_t i = 0; i < w.keywords.size(); ++i)
        if (mask & (uint64_t{1} << i)) out.insert(w.keywords[i]);
      return out;
    };
    for (size_t i = 0; i < a.messages.size(); ++i) {
      EXPECT_EQ(a.messages[i].uid, b.messages[i].uid);
      EXPECT_EQ(a.messages[i].flags, b.messages[i].flags) << "UID " << a.messages[i].uid;
      EXPECT_EQ(a.messages[i].modseq, b.messages[i].modseq) << "UID " << a.messages[i].uid;
      EXPECT_EQ(names(a, a.messages[i].keywords), names(b, b.messages[i].keywords));
    }
  };
  uint32_t first_two[] = {uids[0], uids[1]};
  uint32_t three[] = {uids[1], uids[2], uids[3]};
  ASSERT_TRUE(f.mb->store_flags("INBOX", first_two, {flag_change::add, flag_seen, {"Work"}, {}}));
  same_as_loaded("a new keyword (the view learns the folder's list)");
  ASSERT_TRUE(f.mb->store_flags("INBOX", three, {flag_change::add, flag_flagged, {"work"}, {}}));
  same_as_loaded("a known keyword in another case, one message already having it");
  ASSERT_TRUE(f.mb->store_flags("INBOX", three, {flag_change::replace, flag_deleted, {}, {}}));
  same_as_loaded("replace");
  ASSERT_TRUE(
      f.mb->store_flags("INBOX", first_two, {flag_change::remove, flag_seen, {"Work"}, {}}));
  same_as_loaded("remove");
  // Another process changes flags; this one's next change finds its view
  // behind and reads the index instead.
  uint32_t last[] = {uids[5]};
  ASSERT_TRUE(other_mb->store_flags("INBOX", last, {flag_change::add, flag_answered, {}, {}}));
  ASSERT_TRUE(f.mb->store_flags("INBOX", first_two, {flag_change::add, flag_draft, {}, {}}));
  same_as_loaded("after another process's change");
  uint32_t doomed[] = {uids[2], uids[4], uids[4], 999};
  auto gone = f.mb->expunge("INBOX", doomed);
  ASSERT_TRUE(gone);
  EXPECT_EQ(*gone, 2u);
  same_as_loaded("expunge");
  {
    auto lock = (*v)->reader();
    std::set<uint32_t> tombstones;
    for (auto& [uid, modseq] : (*v)->expunged) {
      tombstones.insert(uid);
      EXPECT_EQ(modseq, (*v)->highestmodseq);
    }
    EXPECT_EQ(tombstones, (std::set<uint32_t>{uids[2], uids[4]}));
  }
}

// SELECT and STATUS take a resident view on the I/O thread only while it is
// current: another process's commit sends them to view(), which merges it.
TEST(Views, ResidentViewOnlyWhileNothingFromAnotherProcessWaits) {
  fixture f;
  f.add();
  EXPECT_FALSE(f.mb->resident_view("INBOX"));  // not loaded yet
  auto v = f.mb->view("INBOX");
  ASSERT_TRUE(v);
  auto resident = f.mb->resident_view("INBOX");
  ASSERT_TRUE(resident);
  EXPECT_EQ(resident->get(), v->get());
  EXPECT_FALSE(f.mb->resident_view("Sent"));  // another folder, not loaded
  f.add();                                    // this process's commit: merged at once
  ASSERT_TRUE(f.mb->resident_view("INBOX"));
  {
    auto lock = (*v)->reader();
    EXPECT_EQ((*v)->messages.size(), 2u);
  }
  auto other = make_sqlite_store(f.dir);
  (*other->open(1))->append("INBOX", new_message{msg, 0, 0});
  EXPECT_FALSE(f.mb->resident_view("INBOX"));  // would miss the other's message
  auto fresh = f.mb->view("INBOX");
  ASSERT_TRUE(fresh);
  {
    auto lock = (*fresh)->reader();
    EXPECT_EQ((*fresh)->messages.size(), 3u);
  }
  EXPECT_TRUE(f.mb->resident_view("INBOX"));
  // A renamed folder keeps its view, under the new name only.
  auto drafts = f.mb->view("Drafts");
  ASSERT_TRUE(drafts);
  ASSERT_TRUE(f.mb->rename_folder("Drafts", "Old drafts"));
  EXPECT_FALSE(f.mb->resident_view("Drafts"));
  auto renamed = f.mb->resident_view("Old drafts");
  ASSERT_TRUE(renamed);
  EXPECT_EQ(renamed->get(), drafts->get());
}

// LIST is answered on the I/O thread from the last listing while no commit,
// of this process or another, changed folders or subscriptions since.
TEST(Folders, ResidentListingUntilFoldersOrSubscriptionsChange) {
  fixture f;
  auto names = [](const folder_listing& l) {
    std::vector<std::string> out;
    for (auto& e : l.folders) out.push_back(e.name + (e.subscribed ? "+" : ""));
    return out;
  };
  EXPECT_FALSE(f.mb->resident_listing());  // nothing listed yet
  auto first = f.mb->listing();
  ASSERT_TRUE(first) << first.err().message;
  auto kept = f.mb->resident_listing();
  ASSERT_TRUE(kept);
  EXPECT_EQ(names(*kept), names(*first));
  f.add();  // mail is not a folder change
  EXPECT_TRUE(f.mb->resident_listing());

  auto changes_listing = [&](const char* what, auto change, auto expect) {
    SCOPED_TRACE(what);
    ASSERT_TRUE(f.mb->listing());
    ASSERT_TRUE(f.mb->resident_listing());
    change();
    EXPECT_FALSE(f.mb->resident_listing());
    auto now = f.mb->listing();
    ASSERT_TRUE(now) << now.err().message;
    expect(*now);
    auto again = f.mb->resident_listing();
    ASSERT_TRUE(again);
    EXPECT_EQ(names(*again), names(*now));
  };
  auto has = [&](const folder_listing& l, const std::string& n) {
    auto v = names(l);
    return std::find(v.begin(), v.end(), n) != v.end();
  };
  changes_listing(
      "create", [&] { ASSERT_TRUE(f.mb->create_folder("Lists", "")); },
      [&](const folder_listing& l) { EXPECT_TRUE(has(l, "Lists")); });
  changes_listing(
      "subscribe", [&] { ASSERT_TRUE(f.mb->subscribe("Lists", true)); },
      [&](const folder_listing& l) {
        EXPECT_TRUE(has(l, "Lists+"));
        EXPECT_EQ(std::count(l.subscribed.begin(), l.subscribed.end(), "Lists"), 1);
      });
  changes_listing(
      "unsubscribe", [&] { ASSERT_TRUE(f.mb->subscribe("Lists", false)); },
      [&](const folder_listing& l) {
        EXPECT_TRUE(has(l, "Lists"));
        EXPECT_EQ(std::count(l.subscribed.begin(), l.subscribed.end(), "Lists"), 0);
      });
  changes_listing(
      "rename", [&] { ASSERT_TRUE(f.mb->rename_folder("Lists", "Groups")); },
      [&](const folder_listing& l) {
        EXPECT_TRUE(has(l, "Groups"));
        EXPECT_FALSE(has(l, "Lists"));
      });
  changes_listing(
      "delete", [&] { ASSERT_TRUE(f.mb->delete_folder("Groups")); },
      [&](const folder_listing& l) { EXPECT_FALSE(has(l, "Groups")); });
  changes_listing(
      "another process creates one",
      [&] {
        auto other = make_sqlite_store(f.dir);
        ASSERT_TRUE((*other->open(1))->create_folder("Elsewhere", ""));
      },
      [&](const folder_listing& l) { EXPECT_TRUE(has(l, "Elsewhere")); });
}

TEST(Append, MultiAppendIsAllOrNothing) {
  fixture f;
  auto s1 = f.st->create_spool();
  auto s2 = f.st->create_spool();
  ASSERT_TRUE(s1 && s2);
  ASSERT_EQ(::write(s1->fd, msg.data(), msg.size()), static_cast<ssize_t>(msg.size()));
  ASSERT_EQ(::write(s2->fd, msg.data(), msg.size()), static_cast<ssize_t>(msg.size()));
  spooled_message m[] = {{&*s1, msg.size(), 0, 0, flag_seen, {}}, {&*s2, msg.size(), 0, 0, 0, {}}};
  std::vector<std::string> kw[] = {{"$Label1"}, {}};
  auto uids = f.mb->append_files("Drafts", m, kw);
  ASSERT_TRUE(uids) << uids.err().message;
  EXPECT_EQ(uids->uids.size(), 2u);
  EXPECT_EQ(uids->uidvalidity, f.mb->folder("Drafts")->uidvalidity);
  EXPECT_EQ(f.mb->folder("Drafts")->messages, 2u);
  auto bad = f.mb->append_files("Nowhere", m, kw);
  EXPECT_EQ(bad.err().code, base::errc::not_found);
  EXPECT_EQ(f.blob_files(), 2u);  // the refused batch left no file behind
  auto u = f.mb->total_usage();
  EXPECT_EQ(u->messages, 2u);
  EXPECT_EQ(u->bytes, 2 * msg.size());
}

// A small IMAP APPEND arrives in memory: it goes straight to its blob, in the
// same all-or-nothing batch as spooled ones, and reads back byte for byte.
TEST(Append, MessagesInMemoryAndSpooledInOneBatch) {
  fixture f;
  auto s1 = f.st->create_spool();
  ASSERT_TRUE(s1);
  ASSERT_EQ(::write(s1->fd, msg.data(), msg.size()), static_cast<ssize_t>(msg.size()));
  const std::string other = "Subject: in memory\r\n\r\nsmall\r\n";
  spooled_message m[] = {{nullptr, other.size(), 0, 0, flag_seen, other},
                         {&*s1, msg.size(), 0, 0, 0, {}}};
  std::vector<std::string> kw[] = {{}, {}};
  auto uids = f.mb->append_files("Drafts", m, kw);
  ASSERT_TRUE(uids) << uids.err().message;
  ASSERT_EQ(uids->uids.size(), 2u);
  auto bad = f.mb->append_files("Nowhere", m, kw);
  EXPECT_EQ(bad.err().code, base::errc::not_found);
  // The spooled one is a file, the one in memory is kept in the index; the
  // refused batch left neither behind.
  EXPECT_EQ(f.blob_files(), 1u);
  EXPECT_EQ(f.inline_rows(), 1);
  auto list = f.mb->list("Drafts");
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].size, other.size());
  EXPECT_EQ((*list)[0].flags, flag_seen);
  EXPECT_EQ((*list)[0].header_size, other.find("\r\n\r\n") + 4);
  EXPECT_EQ(f.read_blob((*list)[0]), other);
  EXPECT_EQ(f.read_blob((*list)[1]), msg);
  auto kept = f.mb->structures("Drafts", {uids->uids[0]}, true);
  ASSERT_TRUE(kept && (*kept)[0] && (*kept)[0]->header);
  EXPECT_EQ(*(*kept)[0]->header, "Subject: in memory\r\n\r\n");
}

}  // namespace postern::store

namespace postern::store {

TEST(Envelope, RenderedAtDeliveryKeptByCopyAndAbsentInRowsOfFormat4) {
  fixture f;
  const auto expected = mime::imap_envelope(mime::parse(msg));
  uint32_t a = f.add();
  auto got = f.mb->structures("INBOX", {a, 999});
  ASSERT_TRUE(got) << got.err().message;
  ASSERT_EQ(got->size(), 2u);
  ASSERT_TRUE((*got)[0] && (*got)[0]->envelope);
  EXPECT_EQ(*(*got)[0]->envelope, expected);
  EXPECT_FALSE((*got)[1]);  // no such message

  uint32_t one[] = {a};
  auto c = f.mb->copy("INBOX", one, "Archive", false);
  ASSERT_TRUE(c) << c.err().message;
  auto copied = f.mb->structures("Archive", c->dest_uids);
  ASSERT_TRUE(copied && (*copied)[0] && (*copied)[0]->envelope);
  EXPECT_EQ(*(*copied)[0]->envelope, expected);

  // An index written by format 4 has no envelope column: it is added, and its
  // messages are rendered from their structure (the text is still there).
  ASSERT_NO_FATAL_FAILURE(f.reopen_after(
      "ALTER TABLE messages DROP COLUMN envelope; ALTER TABLE messages DROP COLUMN "
      "bodystructure; ALTER TABLE messages DROP COLUMN body; ALTER TABLE messages DROP COLUMN "
      "header; PRAGMA user_version = 4"));
  auto old = f.mb->structures("INBOX", {a});
  ASSERT_TRUE(old && (*old)[0]);
  EXPECT_FALSE((*old)[0]->envelope);
  EXPECT_FALSE((*old)[0]->structure.empty());
  auto fresh = f.mb->structures("INBOX", {f.add()});
  ASSERT_TRUE(fresh && (*fresh)[0] && (*fresh)[0]->envelope);
  EXPECT_EQ(*(*fresh)[0]->envelope, expected);
}

// Format 6: BODYSTRUCTURE, BODY and the top-level header are kept at
// delivery (so FETCH of a folder's headers opens no file), carried by a
// copy, and absent in rows of format 5, which FETCH answers as before.
TEST(KeptForFetch, HeaderAndBodystructureKeptAtDeliveryAndByCopyAbsentInFormat5) {
  fixture f;
  const std::string mixed =
      "From: a@example.com\r\nSubject: parts\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
      "one\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>two</p>\r\n--b--\r\n";
  auto st = mime::parse(mixed);
  auto uid = f.mb->append("INBOX", new_message{mixed, 1700000000, 0});
  ASSERT_TRUE(uid) << uid.err().message;
  auto check = [&](std::string_view folder, uint32_t u) {
    auto got = f.mb->structures(folder, {u}, true);
    ASSERT_TRUE(got && (*got)[0]);
    auto& rec = *(*got)[0];
    ASSERT_TRUE(rec.header && rec.bodystructure && rec.body);
    EXPECT_EQ(*rec.header, mixed.substr(0, st.header_size));
    EXPECT_EQ(*rec.bodystructure, mime::imap_bodystructure(st, true));
    EXPECT_EQ(*rec.body, mime::imap_bodystructure(st, false));
  };
  check("INBOX", *uid);
  uint32_t one[] = {*uid};
  auto c = f.mb->copy("INBOX", one, "Archive", false);
  ASSERT_TRUE(c) << c.err().message;
  check("Archive", c->dest_uids[0]);
  // A header too long to keep is read from the file.
  std::string long_header =
      "Subject: long\r\nX-Filler: " + std::string(max_cached_header, 'x') + "\r\n\r\nbody\r\n";
  auto big = f.mb->append("INBOX", new_message{long_header, 0, 0});
  ASSERT_TRUE(big);
  auto got = f.mb->structures("INBOX", {*big}, true);
  ASSERT_TRUE(got && (*got)[0]);
  EXPECT_FALSE((*got)[0]->header);
  EXPECT_TRUE((*got)[0]->bodystructure);
  // Headers only when asked for (FETCH ENVELOPE of a folder reads none).
  auto plain = f.mb->structures("INBOX", {*uid});
  ASSERT_TRUE(plain && (*plain)[0]);
  EXPECT_FALSE((*plain)[0]->header);
  EXPECT_TRUE((*plain)[0]->bodystructure);
  EXPECT_FALSE((*plain)[0]->structure.empty());
  // Nor the structure text when only the renderings are wanted.
  auto lean = f.mb->structures("INBOX", {*uid}, false, false);
  ASSERT_TRUE(lean && (*lean)[0]);
  EXPECT_TRUE((*lean)[0]->structure.empty());
  EXPECT_TRUE((*lean)[0]->envelope && (*lean)[0]->bodystructure && (*lean)[0]->body);
  // One call holds at most header_batch_bytes of headers; the rest are read
  // from their files.
  std::string wide =
      "Subject: wide\r\nX-Filler: " + std::string(max_cached_header - 64, 'y') + "\r\n\r\nb\r\n";
  std::vector<uint32_t> many;
  for (uint64_t held = 0; held <= header_batch_bytes + 2 * max_cached_header; held += wide.size()) {
    auto u = f.mb->append("INBOX", new_message{wide, 0, 0});
    ASSERT_TRUE(u);
    many.push_back(*u);
  }
  auto batch = f.mb->structures("INBOX", many, true);
  ASSERT_TRUE(batch);
  uint64_t held = 0;
  for (auto& r : *batch) {
    ASSERT_TRUE(r);
    if (r->header) held += r->header->size();
  }
  EXPECT_GE(held, header_batch_bytes - max_cached_header);
  EXPECT_LT(held, header_batch_bytes + max_cached_header);
  EXPECT_FALSE(batch->back()->header);

  ASSERT_NO_FATAL_FAILURE(f.reopen_after(
      "ALTER TABLE messages DROP COLUMN bodystructure; ALTER TABLE messages DROP COLUMN body; "
      "ALTER TABLE messages DROP COLUMN header; PRAGMA user_version = 5"));
  auto old = f.mb->structures("INBOX", {*uid}, true);
  ASSERT_TRUE(old && (*old)[0]);
  EXPECT_FALSE((*old)[0]->header || (*old)[0]->bodystructure || (*old)[0]->body);
  EXPECT_TRUE((*old)[0]->envelope);  // format 5's column stays
  auto old_lean = f.mb->structures("INBOX", {*uid}, false, false);
  ASSERT_TRUE(old_lean && (*old_lean)[0]);
  EXPECT_FALSE((*old_lean)[0]->structure.empty());  // renderings missing: BODY needs it
  auto fresh = f.mb->append("INBOX", new_message{mixed, 0, 0});
  ASSERT_TRUE(fresh);
  check("INBOX", *fresh);
}

// A small APPEND is kept in the index (one WAL sync stores it, no file):
// read back byte for byte through a descriptor like a file's, shared by COPY
// and MOVE, gone in the transaction that drops its last message, and its id
// is never handed out again (a session holding the old id reads nothing).
TEST(InlineBlob, SharedByCopyGoneWithItsLastMessageNeverReused) {
  fixture f;
  uint32_t a = f.append_in_memory("INBOX", msg);
  auto list = f.mb->list("INBOX");
  ASSERT_TRUE(list && list->size() == 1u);
  auto first = (*list)[0];
  EXPECT_TRUE(first.blob_id & (uint64_t{1} << 63));
  EXPECT_EQ(f.blob_files(), 0u);
  EXPECT_EQ(f.inline_rows(), 1);
  EXPECT_EQ(f.read_blob(first), msg);
  EXPECT_TRUE(kept_inline(first.blob_id));
  auto kept = f.mb->read_kept_blob(first.blob_id, first.uid);  // FETCH: no descriptor
  ASSERT_TRUE(kept) << kept.err().message;
  EXPECT_EQ(*kept, msg);
  EXPECT_FALSE(f.mb->open_blob_cached(first.blob_id));  // the index may wait for the disk
  // The descriptor maps like a file (SEARCH reads it so).
  {
    auto fd = f.mb->open_blob(first.blob_id, first.uid);
    ASSERT_TRUE(fd);
    void* p = ::mmap(nullptr, msg.size(), PROT_READ, MAP_PRIVATE, *fd, 0);
    ASSERT_NE(p, MAP_FAILED);
    EXPECT_EQ(std::string_view(static_cast<const char*>(p), msg.size()), msg);
    ::munmap(p, msg.size());
    ::close(*fd);
  }

  uint32_t one[] = {a};
  auto c = f.mb->copy("INBOX", one, "Archive", false);
  ASSERT_TRUE(c) << c.err().message;
  auto moved = f.mb->copy("Archive", c->dest_uids, "Trash", true);
  ASSERT_TRUE(moved) << moved.err().message;
  EXPECT_EQ(f.inline_rows(), 1);  // no bytes copied
  ASSERT_TRUE(f.mb->expunge("INBOX", one));
  EXPECT_EQ(f.inline_rows(), 1);
  auto trash = f.mb->list("Trash");
  ASSERT_TRUE(trash && trash->size() == 1u);
  EXPECT_EQ((*trash)[0].blob_id, first.blob_id);
  EXPECT_EQ(f.read_blob((*trash)[0]), msg);
  ASSERT_TRUE(f.mb->expunge("Trash", moved->dest_uids));
  EXPECT_EQ(f.inline_rows(), 0);  // with the expunge itself, no sync awaited
  auto gone = f.mb->open_blob(first.blob_id, first.uid);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.err().code, base::errc::not_found);
  EXPECT_EQ(f.mb->read_kept_blob(first.blob_id, first.uid).err().code, base::errc::not_found);

  // A new message never takes the old id, even after its row is gone.
  f.append_in_memory("INBOX", msg);
  auto again = f.mb->list("INBOX");
  ASSERT_TRUE(again && again->size() == 1u);
  EXPECT_GT((*again)[0].blob_id, first.blob_id);
  EXPECT_FALSE(f.mb->open_blob(first.blob_id, first.uid));
  // Deleting a folder takes its inline messages with it.
  ASSERT_TRUE(f.mb->create_folder("Work", ""));
  f.append_in_memory("Work", msg);
  EXPECT_EQ(f.inline_rows(), 2);
  ASSERT_TRUE(f.mb->delete_folder("Work"));
  EXPECT_EQ(f.inline_rows(), 1);
  // Above max_inline_blob a message in memory becomes a file.
  std::string big = "Subject: big\r\n\r\n";
  while (big.size() <= 128 * 1024) big += std::string(998, 'z') + "\r\n";
  f.append_in_memory("INBOX", big);
  EXPECT_EQ(f.blob_files(), 1u);
  EXPECT_EQ(f.inline_rows(), 1);
  auto both = f.mb->list("INBOX");
  ASSERT_TRUE(both && both->size() == 2u);
  EXPECT_EQ(f.read_blob((*both)[1]), big);
  EXPECT_FALSE(kept_inline((*both)[1].blob_id));
}

// An index of format 6 has no inline_blobs table: opening it adds one, and
// its messages (files) read as before.
TEST(InlineBlob, IndexOfFormat6GainsTheTable) {
  fixture f;
  uint32_t a = f.add();
  ASSERT_NO_FATAL_FAILURE(f.reopen_after("DROP TABLE inline_blobs; PRAGMA user_version = 6"));
  auto list = f.mb->list("INBOX");
  ASSERT_TRUE(list && list->size() == 1u);
  EXPECT_EQ((*list)[0].uid, a);
  EXPECT_EQ(f.read_blob((*list)[0]), msg);
  f.append_in_memory("INBOX", msg);
  EXPECT_EQ(f.inline_rows(), 1);
}

}  // namespace postern::store
