#include "directory/components.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "directory/component_view.hpp"
#include "directory/directory.hpp"

namespace postern::directory {

namespace {

component_record rec(std::string component, std::string requester, component_state s,
                     std::string reason = {}) {
  return {std::move(component), std::move(requester), s, std::move(reason), 1765000000};
}

std::string temp_dir() {
  auto p = std::filesystem::temp_directory_path() /
           ("postern-components-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(p);
  return p.string();
}

}  // namespace

TEST(Components, InactiveWinsOverDrainingAndServerwideCountsForAll) {
  std::vector<component_record> none;
  EXPECT_EQ(state_of(none, "imap").state, component_state::active);
  std::vector<component_record> rs = {rec("imap", "health", component_state::draining),
                                      rec("pop3", "admin", component_state::inactive, "swap")};
  EXPECT_EQ(state_of(rs, "imap").state, component_state::draining);
  EXPECT_EQ(state_of(rs, "pop3").state, component_state::inactive);
  EXPECT_EQ(state_of(rs, "lmtp").state, component_state::active);
  rs.push_back(rec("serverwide", "deployment", component_state::inactive, "upgrade"));
  auto imap = state_of(rs, "imap");
  EXPECT_EQ(imap.state, component_state::inactive);
  ASSERT_TRUE(imap.because);
  EXPECT_EQ(imap.because->requester, "deployment");
  EXPECT_EQ(out_of_service_words("IMAP", imap),
            "IMAP is out of service: deployment set the whole server inactive at "
            "2025-12-06T05:46:40Z (upgrade)");
  EXPECT_EQ(state_of(rs, "lmtp").state, component_state::inactive);
}

TEST(Components, OnlyTheRequesterThatSetAStateClearsItAndStatesPersist) {
  auto path = temp_dir();
  {
    auto d = open_sqlite_directory(path, true);
    ASSERT_TRUE(d) << d.err().message;
    auto& dir = **d;
    ASSERT_TRUE(dir.set_component_state(
        rec("imap", "maintenance", component_state::inactive, "disk swap")));
    ASSERT_TRUE(dir.set_component_state(rec("imap", "admin", component_state::draining)));
    ASSERT_TRUE(dir.set_component_state(rec("imap", "health", component_state::active)));
    auto all = dir.component_states();
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 2u);
    EXPECT_EQ(state_of(*all, "imap").state, component_state::inactive);
    ASSERT_TRUE(dir.set_component_state(rec("imap", "admin", component_state::active)));
    all = dir.component_states();
    ASSERT_EQ(all->size(), 1u);
    EXPECT_EQ((*all)[0].requester, "maintenance");
    EXPECT_EQ((*all)[0].reason, "disk swap");
    EXPECT_GT((*all)[0].since, 1700000000);
    auto bad = dir.set_component_state(rec("gopher", "admin", component_state::inactive));
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.err().code, base::errc::invalid_argument);
    EXPECT_FALSE(dir.set_component_state(rec("imap", "eve", component_state::inactive)));
  }
  // A restart (a new connection) sees the same state, and the node's view
  // follows another process's change.
  auto node = open_sqlite_directory(path, false);
  ASSERT_TRUE(node);
  component_view view(**node);
  view.refresh(true);
  EXPECT_EQ(view.state("imap").state, component_state::inactive);
  auto cli = open_sqlite_directory(path, false);
  ASSERT_TRUE((*cli)->set_component_state(rec("imap", "maintenance", component_state::active)));
  view.refresh();
  EXPECT_EQ(view.state("imap").state, component_state::active);
  std::filesystem::remove_all(path);
}

}  // namespace postern::directory
