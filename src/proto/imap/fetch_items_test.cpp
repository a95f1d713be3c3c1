#include "proto/imap/fetch_items.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/strings.hpp"

namespace postern::proto::imap {

namespace {

std::string show(const sequence_set& s) {
  if (s.saved_result) return "$";
  std::string out;
  auto num = [](uint32_t n) { return n == seq_star ? std::string("*") : std::to_string(n); };
  for (auto r : s.ranges) {
    if (!out.empty()) out += ',';
    out += num(r.first);
    if (r.last != r.first) out += ":" + num(r.last);
  }
  return out;
}

// "set items[ modifiers]": each item by response name, "/peek" and "{offset+length}".
std::string show(const fetch_request& r) {
  std::string out = show(r.set);
  for (const auto& a : r.items) {
    out += ' ';
    out += a.response_name;
    if (a.peek) out += "/peek";
    if (a.partial)
      out +=
          "{" + std::to_string(a.partial->offset) + "+" + std::to_string(a.partial->length) + "}";
  }
  if (r.changed_since) out += " changedsince=" + std::to_string(*r.changed_since);
  if (r.vanished) out += " vanished";
  return out;
}

struct good {
  std::string in;
  std::string want;
};

const std::vector<good> valid = {
    {"1 FLAGS", "1 FLAGS"},
    {"1:* (FLAGS UID)", "1:* FLAGS UID"},
    {"2,4:7,* ALL", "2,4:7,* FLAGS INTERNALDATE RFC822.SIZE ENVELOPE"},
    {"1 FAST", "1 FLAGS INTERNALDATE RFC822.SIZE"},
    {"1 FULL", "1 FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY"},
    {"$ (UID FLAGS)", "$ UID FLAGS"},
    {"1 (INTERNALDATE RFC822.SIZE ENVELOPE BODY BODYSTRUCTURE UID)",
     "1 INTERNALDATE RFC822.SIZE ENVELOPE BODY BODYSTRUCTURE UID"},
    {"1 (RFC822 RFC822.HEADER RFC822.TEXT)", "1 RFC822 RFC822.HEADER/peek RFC822.TEXT"},
    {"1 (MODSEQ SAVEDATE EMAILID THREADID)", "1 MODSEQ SAVEDATE EMAILID THREADID"},
    {"1 BODY[]", "1 BODY[]"},
    {"1 BODY.PEEK[]", "1 BODY[]/peek"},
    {"1 BODY[]<0.100>", "1 BODY[]<0>{0+100}"},
    {"1 BODY[]<100.50>", "1 BODY[]<100>{100+50}"},
    {"1 BODY.PEEK[TEXT]<9223372036854775807.9223372036854775807>",
     "1 BODY[TEXT]<9223372036854775807>/peek{9223372036854775807+9223372036854775807}"},
    {"1 BODY[HEADER]", "1 BODY[HEADER]"},
    {"1 BODY[TEXT]", "1 BODY[TEXT]"},
    {"1 BODY[1]", "1 BODY[1]"},
    {"1 BODY[1.2.3]", "1 BODY[1.2.3]"},
    {"1 BODY[4.2.MIME]", "1 BODY[4.2.MIME]"},
    {"1 BODY[3.HEADER]", "1 BODY[3.HEADER]"},
    {"1 BODY[3.TEXT]", "1 BODY[3.TEXT]"},
    {"1 BODY[HEADER.FIELDS (Subject From)]", "1 BODY[HEADER.FIELDS (Subject From)]"},
    {"1 BODY.PEEK[HEADER.FIELDS.NOT (X-Spam)]", "1 BODY[HEADER.FIELDS.NOT (X-Spam)]/peek"},
    {"1 BODY[2.HEADER.FIELDS (DATE)]<0.10>", "1 BODY[2.HEADER.FIELDS (DATE)]<0>{0+10}"},
    {"1 BODY[HEADER.FIELDS (\"Subject\" {4}\r\nFrom)]", "1 BODY[HEADER.FIELDS (Subject From)]"},
    {"1 BODY[HEADER.FIELDS (\"X(a)\" \"b\\\\c\" \"d]\")]",
     "1 BODY[HEADER.FIELDS (\"X(a)\" \"b\\\\c\" \"d]\")]"},
    {"1 BINARY[]", "1 BINARY[]"},
    {"1 BINARY[1.2]", "1 BINARY[1.2]"},
    {"1 BINARY.PEEK[1]<5.10>", "1 BINARY[1]<5>/peek{5+10}"},
    {"1 BINARY.SIZE[1]", "1 BINARY.SIZE[1]"},
    {"1 BINARY.SIZE[]", "1 BINARY.SIZE[]"},
    {"1 (FLAGS) (CHANGEDSINCE 12345)", "1 FLAGS changedsince=12345"},
    {"1 FLAGS (CHANGEDSINCE 0)", "1 FLAGS changedsince=0"},
    {"1:* (FLAGS) (CHANGEDSINCE 7 VANISHED)", "1:* FLAGS changedsince=7 vanished"},
    {"1:* (FLAGS) (VANISHED CHANGEDSINCE 7)", "1:* FLAGS changedsince=7 vanished"},
    {"1 ALL (CHANGEDSINCE 1)", "1 FLAGS INTERNALDATE RFC822.SIZE ENVELOPE changedsince=1"},
    {"1 (FLAGS FLAGS)", "1 FLAGS FLAGS"},
    {"1 (BODY BODY[] BODY.PEEK[1] BINARY[1] BINARY.SIZE[1])",
     "1 BODY BODY[] BODY[1]/peek BINARY[1] BINARY.SIZE[1]"},
};

void expect_valid(const std::string& in, const std::string& want) {
  SCOPED_TRACE(base::printable(in, 200));
  auto r = parse_fetch(in);
  ASSERT_TRUE(r) << r.error().words;
  EXPECT_EQ(show(*r), want);
}

// Keywords in every case; the words the client chose (field names) keep theirs.
std::string mixed_case(const std::string& s, int pattern) {
  std::string out = s;
  for (size_t i = 0; i < out.size(); ++i) {
    auto c = static_cast<unsigned char>(out[i]);
    bool up = pattern == 0 ? false : pattern == 1 ? true : (i % 2 == 0);
    out[i] = static_cast<char>(up ? std::toupper(c) : std::tolower(c));
  }
  return out;
}

}  // namespace

TEST(FetchItems, ValidForms) {
  for (const auto& v : valid) expect_valid(v.in, v.want);
}

TEST(FetchItems, FinalLineEndIsOptional) {
  for (const auto& v : valid) {
    expect_valid(v.in + "\r\n", v.want);
    expect_valid(v.in + "\n", v.want);
  }
}

TEST(FetchItems, KeywordsInAnyCase) {
  for (const auto& v : valid) {
    for (int pattern = 0; pattern < 3; ++pattern) {
      auto in = mixed_case(v.in, pattern);
      SCOPED_TRACE(in);
      auto r = parse_fetch(in);
      ASSERT_TRUE(r) << r.error().words;
      EXPECT_EQ(base::to_upper(show(*r)), base::to_upper(v.want));
    }
  }
  // Names in the response are upper-case whatever the client sent.
  auto r = parse_fetch("1 (body.peek[1.mime] rfc822.size binary.size[2] body[header.fields (a)])");
  ASSERT_TRUE(r) << r.error().words;
  EXPECT_EQ(show(*r), "1 BODY[1.MIME]/peek RFC822.SIZE BINARY.SIZE[2] BODY[HEADER.FIELDS (a)]");
}

TEST(FetchItems, PrefixesNeverCrashAndFailOrParse) {
  for (const auto& v : valid) {
    for (size_t n = 0; n < v.in.size(); ++n) {
      auto r = parse_fetch(v.in.substr(0, n));
      if (!r) {
        EXPECT_FALSE(r.error().words.empty());
        EXPECT_LE(r.error().offset, n);
      }
    }
  }
}

TEST(FetchItems, Kinds) {
  using k = fetch_att::kind;
  auto r = parse_fetch(
      "1 (FLAGS INTERNALDATE RFC822.SIZE RFC822 RFC822.HEADER RFC822.TEXT ENVELOPE BODY "
      "BODYSTRUCTURE UID MODSEQ SAVEDATE EMAILID THREADID BODY[] BINARY[] BINARY.SIZE[])");
  ASSERT_TRUE(r) << r.error().words;
  std::vector<k> want = {
      k::flags,         k::internaldate, k::rfc822_size,  k::rfc822,
      k::rfc822_header, k::rfc822_text,  k::envelope,     k::body_structure_short,
      k::bodystructure, k::uid,          k::modseq,       k::savedate,
      k::emailid,       k::threadid,     k::body_section, k::binary,
      k::binary_size};
  ASSERT_EQ(r->items.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(r->items[i].what, want[i]) << i;
  EXPECT_EQ(r->items[4].section.what, section_spec::text::header);
  EXPECT_EQ(r->items[5].section.what, section_spec::text::text);
  EXPECT_FALSE(r->items[5].peek);
}

TEST(FetchItems, SectionDetails) {
  auto r = parse_fetch("7 BODY.PEEK[4.2.HEADER.FIELDS.NOT (Subject {3}\r\nX-Y \"Z\")]<3.4>");
  ASSERT_TRUE(r) << r.error().words;
  ASSERT_EQ(r->items.size(), 1u);
  const auto& a = r->items[0];
  EXPECT_EQ(a.what, fetch_att::kind::body_section);
  EXPECT_TRUE(a.peek);
  EXPECT_EQ(a.section.part, (std::vector<uint32_t>{4, 2}));
  EXPECT_EQ(a.section.what, section_spec::text::header_fields_not);
  EXPECT_EQ(a.section.fields, (std::vector<std::string>{"Subject", "X-Y", "Z"}));
  ASSERT_TRUE(a.partial);
  EXPECT_EQ(a.partial->offset, 3u);
  EXPECT_EQ(a.partial->length, 4u);
  EXPECT_EQ(a.response_name, "BODY[4.2.HEADER.FIELDS.NOT (Subject X-Y Z)]<3>");
  EXPECT_EQ(section_text(a.section), "4.2.HEADER.FIELDS.NOT (Subject X-Y Z)");
  EXPECT_EQ(section_text(section_spec{}), "");
}

TEST(FetchItems, Errors) {
  struct bad {
    std::string in;
    std::string words;
  };
  const std::vector<bad> cases = {
      {"", "expected a sequence set (found nothing more)"},
      {"FLAGS", "expected a sequence set (found \"FLAGS\")"},
      {"0 FLAGS", "expected a non-zero number"},
      {"1", "expected SP after the sequence set (found nothing more)"},
      {"1  FLAGS", "expected a FETCH item (found SP)"},
      {"1 ", "expected a FETCH item (found nothing more)"},
      {"1 FOO", "unknown FETCH item \"FOO\""},
      {"1 (FLAGS FOO)", "unknown FETCH item \"FOO\""},
      {"1 (FLAGS ALL)", "FETCH macro ALL must stand alone, not in a list"},
      {"1 (fast)", "FETCH macro FAST must stand alone"},
      {"1 ()", "FETCH item list is empty"},
      {"1 (FLAGS", "expected SP or \")\" in the FETCH item list (found nothing more)"},
      {"1 (FLAGS  UID)", "expected a FETCH item (found SP)"},
      {"1 (FLAGS)x", "expected end of command (found \"x\")"},
      {"1 FLAGS UID", "expected \"(\" to start the FETCH modifiers (found \"UID\")"},
      {"1 FLAGS\r\nx", "expected end of command"},
      {"1 FLAGS[]", "FETCH item FLAGS takes no section"},
      {"1 RFC822.HEADER[]", "FETCH item RFC822.HEADER takes no section"},
      {"1 BODY.PEEK", "BODY.PEEK needs a section, as in BODY.PEEK[]"},
      {"1 BINARY", "BINARY needs a section"},
      {"1 binary.size", "BINARY.SIZE needs a section"},
      {"1 BODY[MIME]", "BODY[MIME] needs a part number, as in BODY[1.MIME]"},
      {"1 BODY[0]", "expected a non-zero section part number (found \"0]\")"},
      {"1 BODY[1.0]", "expected a non-zero section part number (found \"0]\")"},
      {"1 BODY[1.]", "expected a part number, HEADER, HEADER.FIELDS, TEXT or MIME after \".\""},
      {"1 BODY[1HEADER]", "expected \"]\" to close the section (found \"HEADER]\")"},
      {"1 BODY[FOO]",
       "unknown section \"FOO\" (expected HEADER, HEADER.FIELDS, "
       "HEADER.FIELDS.NOT, TEXT or a part number)"},
      {"1 BODY[1.FOO]",
       "unknown section \"FOO\" (expected HEADER, HEADER.FIELDS, "
       "HEADER.FIELDS.NOT, TEXT, MIME or a part number)"},
      {"1 BODY[HEADER", "expected \"]\" to close the section (found nothing more)"},
      {"1 BODY[TEXT.MIME]", "unknown section \"TEXT.MIME\""},
      {"1 BODY[HEADER.FIELDS]", "expected SP after HEADER.FIELDS (found \"]\")"},
      {"1 BODY[HEADER.FIELDS ()]", "HEADER.FIELDS needs at least one header field name"},
      {"1 BODY[HEADER.FIELDS.NOT ()]", "HEADER.FIELDS.NOT needs at least one header field name"},
      {"1 BODY[HEADER.FIELDS Subject]", "expected \"(\" to start the header field list"},
      {"1 BODY[HEADER.FIELDS (Subject]", "expected SP or \")\" in the header field list"},
      {"1 BODY[HEADER.FIELDS (\"a:b\")]", "header field name \"a:b\" is not valid"},
      {"1 BODY[HEADER.FIELDS (\"\")]", "header field name \"\" is not valid"},
      {"1 BODY[HEADER.FIELDS (\"a b\")]", "header field name \"a b\" is not valid"},
      {"1 BODY[HEADER.FIELDS ({2}\r\n\x01x)]", "header field name \"\\x01x\" is not valid"},
      {"1 BODY[HEADER.FIELDS (Subject)", "expected \"]\" to close the section"},
      {"1 BODY[]<>", "expected a partial offset after \"<\" (found \">\")"},
      {"1 BODY[]<1>", "expected \".\" between the partial offset and length (found \">\")"},
      {"1 BODY[]<1.0>", "partial length must not be 0"},
      {"1 BODY[]<1.2", "expected \">\" to close the partial range"},
      {"1 BODY[]<9223372036854775808.1>", "is too large"},
      {"1 BODY[]<-1.2>", "expected a partial offset"},
      {"1 BINARY[HEADER]", "BINARY sections are part numbers only (RFC 3516)"},
      {"1 BINARY.PEEK[1.MIME]", "BINARY sections are part numbers only"},
      {"1 BINARY.SIZE[1.TEXT]", "BINARY.SIZE sections are part numbers only"},
      {"1 BINARY.SIZE[1]<0.1>", "BINARY.SIZE takes no partial range"},
      {"1 BODY<0.1>", "unknown FETCH item \"BODY<0.1>\""},
      {"1 FLAGS ()", "expected a FETCH modifier (found \")\")"},
      {"1 FLAGS (FOO 1)", "unknown FETCH modifier \"FOO\""},
      {"1 FLAGS (CHANGEDSINCE)", "expected SP after CHANGEDSINCE (found \")\")"},
      {"1 FLAGS (CHANGEDSINCE x)", "expected a mod-sequence after CHANGEDSINCE"},
      {"1 FLAGS (CHANGEDSINCE 9223372036854775808)", "is too large"},
      {"1 FLAGS (CHANGEDSINCE 1 CHANGEDSINCE 2)", "CHANGEDSINCE given twice"},
      {"1 FLAGS (CHANGEDSINCE 1 VANISHED VANISHED)", "VANISHED given twice"},
      {"1 FLAGS (VANISHED)", "VANISHED needs CHANGEDSINCE (RFC 7162)"},
      {"1 FLAGS (CHANGEDSINCE 1", "expected SP or \")\" in the FETCH modifiers"},
      {"1 FLAGS (CHANGEDSINCE 1) x", "expected end of command"},
      {"1 BODY[HEADER.FIELDS (\xff)]", "expected a header field name"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(base::printable(c.in, 200));
    auto r = parse_fetch(c.in);
    ASSERT_FALSE(r) << show(*r);
    EXPECT_NE(r.error().words.find(c.words), std::string::npos) << r.error().words;
    EXPECT_LE(r.error().offset, c.in.size());
    // Words go into a BAD reply: 7-bit printable only (RFC 3501 TEXT-CHAR).
    for (char ch : r.error().words) EXPECT_TRUE(ch >= 0x20 && ch <= 0x7e) << r.error().words;
  }
}

TEST(FetchItems, ErrorOffsetsPointAtTheProblem) {
  auto r = parse_fetch("1 (FLAGS BODY[HEADER.FIELDS (\"a:b\")])");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().offset, 29u);
  r = parse_fetch("1 (FLAGS WHAT)");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().offset, 9u);
  r = parse_fetch("1 FLAGS (CHANGEDSINCE 1 NOPE)");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().offset, 24u);
}

TEST(FetchItems, LimitsAtTheBoundary) {
  auto list = [](size_t n, const std::string& item) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += (i ? " " : "") + item;
    return s;
  };
  auto r = parse_fetch("1 (" + list(max_fetch_items, "UID") + ")");
  ASSERT_TRUE(r) << r.error().words;
  EXPECT_EQ(r->items.size(), max_fetch_items);
  r = parse_fetch("1 (" + list(max_fetch_items + 1, "UID") + ")");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().words, "more than 1000 FETCH items");

  r = parse_fetch("1 BODY[HEADER.FIELDS (" + list(max_header_fields, "X") + ")]");
  ASSERT_TRUE(r) << r.error().words;
  EXPECT_EQ(r->items[0].section.fields.size(), max_header_fields);
  r = parse_fetch("1 BODY[HEADER.FIELDS (" + list(max_header_fields + 1, "X") + ")]");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().words, "more than 1000 header fields");

  std::string parts;
  for (size_t i = 0; i < max_section_depth; ++i) parts += (i ? ".1" : "1");
  r = parse_fetch("1 BODY[" + parts + "]");
  ASSERT_TRUE(r) << r.error().words;
  EXPECT_EQ(r->items[0].section.part.size(), max_section_depth);
  r = parse_fetch("1 BODY[" + parts + ".1]");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().words, "section has more than 100 part numbers");

  r = parse_fetch("1 BODY[4294967295]");
  ASSERT_TRUE(r) << r.error().words;
  EXPECT_EQ(r->items[0].response_name, "BODY[4294967295]");
  r = parse_fetch("1 BODY[4294967296]");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().words.find("too large"), std::string::npos);
}

}  // namespace postern::proto::imap
