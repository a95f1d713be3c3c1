#include "mime/threading.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "mime/base_subject.hpp"

namespace postern::mime {
namespace {

struct msg {
  uint32_t number;
  int64_t date;
  std::string subject;  // raw Subject value
  std::string message_id;
  std::string references = "";
  std::string in_reply_to = "";
};

std::vector<thread_input> inputs(const std::vector<msg>& messages) {
  std::vector<thread_input> in;
  for (const msg& m : messages) {
    const base_subject_result b = base_subject(m.subject);
    in.push_back(
        {m.number, m.message_id, m.in_reply_to, m.references, b.base, b.reply_or_forward, m.date});
  }
  return in;
}

std::string references(const std::vector<msg>& m) {
  return format_threads(thread_references(inputs(m)));
}
std::string refs(const std::vector<msg>& m) { return format_threads(thread_refs(inputs(m))); }
std::string orderedsubject(const std::vector<msg>& m) {
  return format_threads(thread_orderedsubject(inputs(m)));
}

// RFC 5256 §4's example, and the same tree threaded from headers.
TEST(Threading, Rfc5256Section4Example) {
  const std::vector<msg> m = {
      {2, 1, "Alone", "<2@x>"},
      {3, 2, "Tree", "<3@x>"},
      {6, 3, "Re: Tree", "<6@x>", "<3@x>"},
      {4, 4, "Re: Tree", "<4@x>", "<3@x> <6@x>"},
      {23, 5, "Re: Tree", "<23@x>", "<3@x> <6@x> <4@x>"},
      {44, 6, "Re: Tree", "<44@x>", "<3@x> <6@x>"},
      {7, 7, "Re: Tree", "<7@x>", "<3@x> <6@x> <44@x>"},
      {96, 8, "Re: Tree", "<96@x>", "<3@x> <6@x> <44@x> <7@x>"},
  };
  EXPECT_EQ(references(m), "(2)(3 6 (4 23)(44 7 96))");
  EXPECT_EQ(refs(m), "(2)(3 6 (4 23)(44 7 96))");
  EXPECT_EQ(references({}), "");
}

TEST(Threading, OrderedSubject) {
  EXPECT_EQ(orderedsubject({
                {1, 100, "Hello", "<1@x>"},
                {2, 200, "Re: Hello", "<2@x>"},
                {3, 150, "Other", "<3@x>"},
                {4, 120, "Re: [list] other (fwd)", "<4@x>"},
            }),
            "(1 2)(4 3)");
  // RFC 5256's response shows such a thread: children by sent date, not number.
  EXPECT_EQ(orderedsubject({
                {174, 1, "Subject", ""},
                {175, 2, "Re: Subject", ""},
                {176, 3, "Re: Subject", ""},
                {178, 4, "Re: Subject", ""},
                {180, 6, "Re: Subject", ""},
                {181, 5, "Re: Subject", ""},
            }),
            "(174 (175)(176)(178)(181)(180))");
  // References play no part; equal dates go by number; empty subjects group.
  EXPECT_EQ(orderedsubject({
                {5, 7, "A", "<5@x>", "<9@x>"},
                {3, 7, "a", "<3@x>"},
                {9, 1, "", "<9@x>"},
                {8, 2, "   ", ""},
            }),
            "(9 8)(3 5)");
}

TEST(Threading, MissingParentsBecomeDummies) {
  // Two messages under one missing parent: the dummy stays ("((3)(5))").
  EXPECT_EQ(references({{3, 1, "A", "<3@x>", "<gone@x>"}, {5, 2, "B", "<5@x>", "<gone@x>"}}),
            "((3)(5))");
  // Under one missing parent alone: the dummy gives way to it.
  EXPECT_EQ(references({{3, 1, "A", "<3@x>", "<gone@x>"}}), "(3)");
  EXPECT_EQ(references({{3, 1, "A", "<3@x>", "<g1@x> <g2@x> <g3@x>"}}), "(3)");
  // Dummies below a message always give way to their children.
  EXPECT_EQ(references({{1, 1, "A", "<a@x>"}, {2, 2, "B", "<2@x>", "<a@x> <gone@x>"}}), "(1 2)");
  EXPECT_EQ(references({{1, 1, "A", "<a@x>"},
                        {2, 2, "B", "<2@x>", "<a@x> <gone@x>"},
                        {3, 3, "C", "<3@x>", "<a@x> <gone@x>"}}),
            "(1 (2)(3))");
  // A dummy at the top with dummies below it: its messages become its children.
  EXPECT_EQ(references({{2, 1, "A", "<2@x>", "<top@x> <y@x>"},
                        {3, 2, "B", "<3@x>", "<top@x> <z@x> <w@x>"}}),
            "((2)(3))");
  EXPECT_EQ(references({{2, 1, "A", "<2@x>", "<top@x> <y@x>"},
                        {3, 2, "B", "<3@x>", "<top@x> <y@x>"},
                        {4, 3, "C", "<4@x>", "<top@x>"}}),
            "((2)(3)(4))");
}

TEST(Threading, MessageIdRules) {
  // The first of two messages with one Message-ID (by number) keeps it.
  EXPECT_EQ(references({{1, 1, "A", "<a@x>"}, {2, 2, "B", "<a@x>"}, {3, 3, "C", "<3@x>", "<a@x>"}}),
            "(1 3)(2)");
  EXPECT_EQ(references({{2, 1, "A", "<a@x>"}, {1, 2, "B", "<a@x>"}, {3, 3, "C", "<3@x>", "<a@x>"}}),
            "(2)(1 3)");
  // Without a Message-ID nothing can refer to a message.
  EXPECT_EQ(references({{1, 1, "A", ""}, {2, 2, "B", "garbage"}, {3, 3, "C", "<3@x>", "<>"}}),
            "(1)(2)(3)");
  // Quoting does not make two IDs differ (RFC 5256 §3).
  EXPECT_EQ(references({{1, 1, "A", "<\"01KF8JCEOCBS0045PS\"@xxx.yyy.com>"},
                        {2, 2, "B", "<2@x>", "<01KF8JCEOCBS0045PS@xxx.yyy.com>"}}),
            "(1 2)");
  // In-Reply-To only when References has no valid ID, and only its first ID.
  EXPECT_EQ(references({{1, 1, "A", "<a@x>"}, {2, 2, "B", "<2@x>", "", "<a@x>"}}), "(1 2)");
  EXPECT_EQ(references({{1, 1, "A", "<a@x>"},
                        {2, 2, "B", "<b@x>"},
                        {3, 3, "C", "<3@x>", "junk", "<a@x> <b@x>"}}),
            "(1 3)(2)");
  EXPECT_EQ(
      references(
          {{1, 1, "A", "<a@x>"}, {2, 2, "B", "<b@x>"}, {3, 3, "C", "<3@x>", "<b@x>", "<a@x>"}}),
      "(1)(2 3)");
  EXPECT_EQ(references({{1, 1, "A", "<a@x>"},
                        {2, 2, "B", "<2@x>", "",
                         "Your message of \"Mon, 1 Jan 2001 <q@x>\" (<c@x>) <a@x>"}}),
            "(1 2)");
}

TEST(Threading, LinkRules) {
  // (A) does not move a message that has a parent already; <q> stays empty.
  EXPECT_EQ(references({{1, 1, "A", "<x@x>"},
                        {2, 2, "B", "<y@x>"},
                        {3, 3, "C", "<z@x>", "<x@x> <y@x>"},
                        {4, 4, "D", "<w@x>", "<q@x> <y@x>"}}),
            "(1 2 (3)(4))");
  // (B) replaces what (A) guessed: 2's own (empty) References win.
  EXPECT_EQ(references({{1, 2, "A", "<a@x>", "<p@x> <b@x>"}, {2, 1, "B", "<b@x>"}}), "(2 1)");
  // Siblings by sent date, then number.
  EXPECT_EQ(references({{1, 1, "A", "<a@x>"},
                        {2, 9, "B", "<2@x>", "<a@x>"},
                        {3, 5, "C", "<3@x>", "<a@x>"},
                        {5, 5, "D", "<5@x>", "<a@x>"},
                        {4, 5, "E", "<4@x>", "<a@x>"}}),
            "(1 (3)(4)(5)(2))");
}

TEST(Threading, NoLoops) {
  EXPECT_EQ(references({{1, 1, "A", "<a@x>", "<b@x>"}, {2, 2, "B", "<b@x>", "<a@x>"}}), "(2 1)");
  EXPECT_EQ(references({{1, 1, "A", "<a@x>", "<c@x>"},
                        {2, 2, "B", "<b@x>", "<a@x>"},
                        {3, 3, "C", "<c@x>", "<b@x>"}}),
            "(3 1 2)");
  // A message's own ID in its references is ignored.
  EXPECT_EQ(references({{1, 1, "A", "<a@x>", "<a@x>"}}), "(1)");
  EXPECT_EQ(references({{1, 1, "A", "<p@x>"}, {2, 2, "B", "<m@x>", "<p@x> <m@x>"}}), "(1 2)");
  EXPECT_EQ(references({{1, 1, "A", "<a@x>", "", "<a@x>"}}), "(1)");
  // References that name an ID twice, or in a circle.
  EXPECT_EQ(references({{1, 1, "A", "<1@x>", "<a@x> <a@x> <b@x> <a@x>"}}), "(1)");
  EXPECT_EQ(references({{1, 1, "A", "<a@x>"},
                        {2, 2, "B", "<b@x>", "<a@x> <b@x> <a@x>"},
                        {3, 3, "C", "<c@x>", "<b@x> <a@x>"}}),
            "(1 (2)(3))");
}

TEST(Threading, SubjectMerging) {
  // The reply joins the original.
  EXPECT_EQ(references({{1, 1, "Hello", "<1@x>"}, {2, 2, "Re: Hello", "<2@x>"}}), "(1 2)");
  EXPECT_EQ(references({{1, 1, "Re: Hello", "<1@x>"}, {2, 2, "hello", "<2@x>"}}), "(2 1)");
  EXPECT_EQ(references({{1, 1, "Hello", "<1@x>"}, {2, 2, "[fwd: Hello]", "<2@x>"}}), "(1 2)");
  // Neither, or both, a reply: a new dummy holds both.
  EXPECT_EQ(references({{1, 1, "Hello", "<1@x>"}, {2, 2, "HELLO", "<2@x>"}}), "((1)(2))");
  EXPECT_EQ(references({{1, 1, "Re: Hello", "<1@x>"}, {2, 2, "Fwd: Hello", "<2@x>"}}), "((1)(2))");
  EXPECT_EQ(references(
                {{1, 1, "Hello", "<1@x>"}, {2, 2, "Hello", "<2@x>"}, {3, 3, "Re: Hello", "<3@x>"}}),
            "((1)(2)(3))");
  // A dummy in the table takes the others.
  EXPECT_EQ(references({{3, 1, "Hello", "<3@x>", "<gone@x>"},
                        {5, 2, "Re: Hello", "<5@x>", "<gone@x>"},
                        {7, 3, "Re: Hello", "<7@x>"}}),
            "((3)(5)(7))");
  EXPECT_EQ(references({{1, 1, "Hello", "<1@x>"},
                        {2, 2, "Hello", "<2@x>", "<gone@x>"},
                        {3, 3, "Re: Hello", "<3@x>", "<gone@x>"}}),
            "((1)(2)(3))");
  // Two dummies: their children become siblings.
  EXPECT_EQ(references({{1, 1, "Hello", "<1@x>", "<g1@x>"},
                        {2, 3, "Hello", "<2@x>", "<g1@x>"},
                        {3, 2, "Hello", "<3@x>", "<g2@x>"},
                        {4, 4, "Hello", "<4@x>", "<g2@x>"}}),
            "((1)(3)(2)(4))");
  // A dummy's thread subject is its first child's.
  EXPECT_EQ(references({{1, 1, "Hello", "<1@x>", "<g@x>"},
                        {2, 2, "Other", "<2@x>", "<g@x>"},
                        {3, 3, "Hello", "<3@x>"},
                        {4, 4, "Other", "<4@x>"}}),
            "((1)(2)(3))(4)");
  // A thread with replies joins as a whole; merging is at the top only.
  EXPECT_EQ(references({{1, 1, "Hello", "<1@x>"},
                        {2, 2, "Re: Hello", "<2@x>", "<1@x>"},
                        {3, 3, "Re: Hello", "<3@x>"},
                        {4, 4, "Re: Hello", "<4@x>", "<3@x>"}}),
            "(1 (2)(3 4))");
  EXPECT_EQ(
      references(
          {{1, 1, "Hello", "<1@x>"}, {2, 2, "Other", "<2@x>", "<1@x>"}, {3, 3, "Other", "<3@x>"}}),
      "(1 2)(3)");
  // Empty base subjects are never merged.
  EXPECT_EQ(references({{1, 1, "", "<1@x>"}, {2, 2, "Re:", "<2@x>"}, {3, 3, "   ", "<3@x>"}}),
            "(1)(2)(3)");
}

TEST(Threading, RefsSortsByNewestAndDoesNotMergeSubjects) {
  EXPECT_EQ(refs({{1, 1, "Hello", "<1@x>"}, {2, 2, "Re: Hello", "<2@x>"}}), "(1)(2)");
  const std::vector<msg> m = {
      {1, 10, "A", "<1@x>"},
      {2, 20, "B", "<2@x>"},
      {3, 50, "Re: A", "<3@x>", "<1@x>"},
      {4, 30, "C", "<4@x>", "<gone@x>"},
      {5, 15, "D", "<5@x>", "<gone@x>"},
  };
  EXPECT_EQ(references(m), "(1 3)((5)(4))(2)");
  EXPECT_EQ(refs(m), "(2)((5)(4))(1 3)");
  // Equal newest dates: by the newest message's number.
  EXPECT_EQ(refs({{3, 5, "A", "<3@x>"}, {1, 1, "B", "<1@x>"}, {2, 5, "Re: B", "<2@x>", "<1@x>"}}),
            "(1 2)(3)");
}

TEST(ParseMessageIds, Syntax) {
  using ids = std::vector<std::string>;
  EXPECT_EQ(parse_message_ids("<a@b>"), ids({"a@b"}));
  EXPECT_EQ(parse_message_ids(" <a.b@c.d>\r\n\t<e@f>,<g@h>  <i@j>"),
            ids({"a.b@c.d", "e@f", "g@h", "i@j"}));
  EXPECT_EQ(parse_message_ids("<\"a.b\"@x>"), ids({"a.b@x"}));
  EXPECT_EQ(parse_message_ids("<\"a\\\"b c\".d@x>"), ids({"a\"b c.d@x"}));
  EXPECT_EQ(parse_message_ids("<a@[1.2.3.4]>"), ids({"a@[1.2.3.4]"}));
  EXPECT_EQ(parse_message_ids("<CAE=+x$%&'*/?^_`{|}~-@mail.example>"),
            ids({"CAE=+x$%&'*/?^_`{|}~-@mail.example"}));
  EXPECT_EQ(parse_message_ids("<A@B> <a@b>"), ids({"A@B", "a@b"}));  // exact match
  // Not IDs: no "@", empty parts, blanks, unclosed.
  EXPECT_EQ(parse_message_ids("<a> <@b> <a@> <a b@c> <a@b c> <a@b <> a@b <a@[1.2> <a@b"), ids({}));
  EXPECT_EQ(parse_message_ids("<<a@b>>"), ids({"a@b"}));
  EXPECT_EQ(parse_message_ids("<x <a@b>"), ids({"a@b"}));
  // Comments and quoted strings outside brackets are skipped.
  EXPECT_EQ(parse_message_ids("(<c@d>) <a@b> (x (<e@f>) \\) <g@h>) \"<i@j>\" <k@l>"),
            ids({"a@b", "k@l"}));
  EXPECT_EQ(parse_message_ids("(open <a@b>"), ids({"a@b"}));
  EXPECT_EQ(parse_message_ids("\"open <a@b>"), ids({"a@b"}));
  EXPECT_EQ(parse_message_ids("<a@b> <c@d>", 1), ids({"a@b"}));
  EXPECT_EQ(parse_message_ids(""), ids({}));
}

TEST(ParseMessageIds, HostileInputsAreLinear) {
  const size_t n = 1 << 20;
  for (const std::string& s :
       {std::string(n, '<'), std::string(n, '('), std::string(n, '"'), std::string(n, '@'),
        std::string(n / 2, '(') + std::string(n / 2, '"'),
        [&] {
          std::string t;
          while (t.size() < n) t += "<a\"";
          return t;
        }(),
        [&] {
          std::string t;
          while (t.size() < n) t += "\"\\\"";
          return t;
        }()}) {
    const auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(parse_message_ids(s).empty());
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0);
  }
  std::string many;
  for (int i = 0; i < 100000; ++i) many += "<" + std::to_string(i) + "@x> ";
  EXPECT_EQ(parse_message_ids(many).size(), 100000u);
}

std::string id(uint32_t k) { return "<" + std::to_string(k) + "@x>"; }

std::string chain(uint32_t from, uint32_t to) {  // "(from ... to)", either way
  std::string s = "(";
  for (uint32_t k = from;; k = from < to ? k + 1 : k - 1) {
    s += std::to_string(k);
    if (k == to) break;
    s += ' ';
  }
  return s + ")";
}

// 100,000 replies, each to the one before: as deep as a thread gets.
TEST(Threading, LongReplyChains) {
  constexpr uint32_t n = 100000;
  std::vector<thread_input> in(n);
  for (uint32_t k = 1; k <= n; ++k) {
    in[k - 1] = {k, id(k), k > 1 ? id(k - 1) : "", "", "s", k > 1, k};
  }
  EXPECT_TRUE(format_threads(thread_references(in)) == chain(1, n));
  EXPECT_TRUE(format_threads(thread_refs(in)) == chain(1, n));
  // Children before parents in mailbox order: each reply's parent comes later.
  for (uint32_t k = 1; k <= n; ++k) {
    in[k - 1] = {k, id(k), "", k < n ? id(k + 1) : "", "s", k < n, -int64_t{k}};
  }
  EXPECT_TRUE(format_threads(thread_references(in)) == chain(n, 1));
  std::string flat = "(" + std::to_string(n) + " ";
  for (uint32_t k = n - 1; k >= 1; --k) flat += "(" + std::to_string(k) + ")";
  EXPECT_TRUE(format_threads(thread_orderedsubject(in)) == flat + ")");
}

TEST(Threading, LongReferencesField) {
  std::string all;
  for (uint32_t k = 1; k <= 100000; ++k) all += id(1000000 + k) + " ";
  std::vector<thread_input> in = {{1, id(1), "", all, "a", true, 1},
                                  {2, id(2), id(1050000), "", "b", true, 2}};
  EXPECT_EQ(format_threads(thread_references(in)), "((1)(2))");
  EXPECT_EQ(format_threads(thread_refs(in)), "((1)(2))");
}

// Every reply lists all its ancestors; and 100,000 messages that each ask for a
// link that would close a loop through the bottom of a 100,000-deep chain. A
// walk up the chain per check would take 10^10 steps.
TEST(Threading, LoopChecksStayCheap) {
  std::vector<thread_input> in;
  std::string refs;
  for (uint32_t k = 1; k <= 1000; ++k) {
    in.push_back({k, id(k), "", refs, "s", k > 1, k});
    refs += id(k) + " ";
  }
  EXPECT_TRUE(format_threads(thread_references(in)) == chain(1, 1000));

  constexpr uint32_t n = 100000;
  in.clear();
  for (uint32_t k = 1; k <= n; ++k)
    in.push_back({k, id(k), "", k > 1 ? id(k - 1) : "", "s", true, k});
  std::string expected = "(1 " + chain(2, n);
  for (uint32_t k = n + 1; k <= 2 * n; ++k) {
    in.push_back({k, id(k), "", id(n) + " " + id(1), "t", true, k});
    expected += "(" + std::to_string(k) + ")";
  }
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(format_threads(thread_refs(in)) == expected + ")");
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 10.0);
}

// Hand-made forests: what format_threads() prints for any shape.
TEST(FormatThreads, Shapes) {
  auto forest = [](std::vector<thread_node> nodes, std::vector<uint32_t> roots) {
    return format_threads(thread_forest{std::move(nodes), std::move(roots)});
  };
  EXPECT_EQ(forest({}, {}), "");
  EXPECT_EQ(forest({{2, {}}}, {0}), "(2)");
  EXPECT_EQ(forest({{0, {1, 2}}, {3, {}}, {5, {}}}, {0}), "((3)(5))");
  EXPECT_EQ(forest({{0, {1}}, {3, {}}}, {0}), "(3)");
  EXPECT_EQ(forest({{3, {1}}, {0, {2}}, {4, {}}}, {0}), "(3 4)");
  EXPECT_EQ(forest({{0, {}}, {7, {}}}, {0, 1}), "(7)");
  EXPECT_EQ(forest({{0, {1}}, {0, {}}}, {0}), "");
  EXPECT_EQ(forest({{1, {1, 2}}, {2, {}}, {0, {3, 4}}, {3, {}}, {4, {}}}, {0}), "(1 (2)((3)(4)))");
  EXPECT_EQ(forest({{1, {1}}, {0, {2, 3}}, {3, {}}, {4, {}}}, {0}), "(1 (3)(4))");
  EXPECT_EQ(forest({{1, {1, 2}}, {2, {}}, {0, {}}}, {0}), "(1 2)");
  EXPECT_EQ(forest({{4294967295u, {}}}, {0}), "(4294967295)");
  // Bad forests print each node once and never loop.
  EXPECT_EQ(forest({{1, {1, 9}}, {2, {0, 1}}}, {0, 1, 5}), "(1 2)");
  EXPECT_EQ(forest({{1, {2}}, {2, {2}}, {3, {}}}, {0, 1}), "(1 3)(2)");
}

TEST(FormatThreads, DeepChainIsIterative) {
  constexpr uint32_t n = 200000;
  thread_forest f;
  for (uint32_t i = 0; i < n; ++i) {
    f.nodes.push_back({i + 1, {}});
    if (i + 1 < n) f.nodes.back().children.push_back(i + 1);
  }
  f.roots = {0};
  const std::string out = format_threads(f);
  EXPECT_EQ(out.substr(0, 8), "(1 2 3 4");
  EXPECT_EQ(out.substr(out.size() - 8), " 200000)");
}

}  // namespace
}  // namespace postern::mime
