#include "mime/imap_structure.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace postern::mime {
namespace {

using namespace std::string_literals;

std::string crlf(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

// A strict reader of the RFC 9051 §9 productions the formatter emits: body (with
// all four extension fields when extended, none otherwise), envelope, address.
class grammar {
 public:
  grammar(std::string_view s, bool extended) : s_(s), extended_(extended) {}

  bool whole_body() { return body() && i_ == s_.size(); }
  bool whole_envelope() { return envelope() && i_ == s_.size(); }
  size_t position() const { return i_; }

 private:
  bool lit(std::string_view t) {
    if (s_.substr(i_, t.size()) != t) return false;
    i_ += t.size();
    return true;
  }
  bool sp() { return lit(" "); }
  bool nil() { return lit("NIL"); }
  bool number() {
    const size_t b = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    return i_ > b;
  }
  // string = quoted / literal; `value` receives the content.
  bool string(std::string* value = nullptr) {
    std::string v;
    if (lit("\"")) {
      while (i_ < s_.size() && s_[i_] != '"') {
        char c = s_[i_++];
        if (c == '\r' || c == '\n' || c == '\0' || static_cast<unsigned char>(c) >= 0x80) {
          return false;
        }
        if (c == '\\') {
          if (i_ == s_.size() || (s_[i_] != '"' && s_[i_] != '\\')) return false;
          c = s_[i_++];
        }
        v += c;
      }
      if (!lit("\"")) return false;
    } else if (lit("{")) {
      const size_t b = i_;
      if (!number()) return false;
      const size_t n = std::stoul(std::string(s_.substr(b, i_ - b)));
      if (!lit("}\r\n") || s_.size() - i_ < n) return false;
      v = s_.substr(i_, n);
      if (v.find('\0') != std::string::npos) return false;
      i_ += n;
    } else {
      return false;
    }
    if (value) *value = v;
    return true;
  }
  bool nstring() { return nil() || string(); }
  bool address() {
    return lit("(") && nstring() && sp() && nstring() && sp() && nstring() && sp() && nstring() &&
           lit(")");
  }
  bool address_list() {
    if (nil()) return true;
    if (!lit("(") || !address()) return false;
    while (s_.substr(i_, 1) == "(") {
      if (!address()) return false;
    }
    return lit(")");
  }
  bool envelope() {
    if (!lit("(") || !nstring() || !sp() || !nstring()) return false;
    for (int k = 0; k < 6; ++k) {
      if (!sp() || !address_list()) return false;
    }
    return sp() && nstring() && sp() && nstring() && lit(")");
  }
  bool params() {
    if (nil()) return true;
    if (!lit("(") || !string() || !sp() || !string()) return false;
    while (sp()) {
      if (!string() || !sp() || !string()) return false;
    }
    return lit(")");
  }
  bool disposition() { return nil() || (lit("(") && string() && sp() && params() && lit(")")); }
  bool language() {
    if (nstring()) return true;
    if (!lit("(") || !string()) return false;
    while (sp()) {
      if (!string()) return false;
    }
    return lit(")");
  }
  bool dsp_lang_loc() { return sp() && disposition() && sp() && language() && sp() && nstring(); }
  static std::string upper(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
  }
  bool body() {
    if (!lit("(")) return false;
    if (s_.substr(i_, 1) == "(") {  // body-type-mpart
      while (s_.substr(i_, 1) == "(") {
        if (!body()) return false;
      }
      if (!sp() || !string()) return false;
      if (extended_ && !(sp() && params() && dsp_lang_loc())) return false;
      return lit(")");
    }
    std::string type, subtype;
    if (!string(&type) || !sp() || !string(&subtype) || !sp()) return false;
    // body-fields
    if (!params() || !sp() || !nstring() || !sp() || !nstring() || !sp() || !string() || !sp() ||
        !number()) {
      return false;
    }
    type = upper(type);
    subtype = upper(subtype);
    if (type == "TEXT") {
      if (!sp() || !number()) return false;
    } else if (type == "MESSAGE" && (subtype == "RFC822" || subtype == "GLOBAL")) {
      if (!sp() || !envelope() || !sp() || !body() || !sp() || !number()) return false;
    }
    if (extended_ && !(sp() && nstring() && dsp_lang_loc())) return false;
    return lit(")");
  }

  std::string_view s_;
  bool extended_;
  size_t i_ = 0;
};

void expect_valid(const message_structure& s) {
  const std::string env = imap_envelope(s);
  grammar ge(env, false);
  EXPECT_TRUE(ge.whole_envelope()) << env << "\nat " << ge.position();
  for (bool extended : {false, true}) {
    const std::string b = imap_bodystructure(s, extended);
    grammar g(b, extended);
    EXPECT_TRUE(g.whole_body()) << b << "\nat " << g.position();
  }
}

std::string list(std::string_view header) {
  std::string out;
  append_imap_address_list(out, header);
  return out;
}

TEST(ImapString, QuotedOrLiteral) {
  auto str = [](std::string_view s) {
    std::string out;
    append_imap_string(out, s);
    return out;
  };
  EXPECT_EQ(str(""), "\"\"");
  EXPECT_EQ(str("plain"), "\"plain\"");
  EXPECT_EQ(str("a \"q\" \\ b"), "\"a \\\"q\\\" \\\\ b\"");
  EXPECT_EQ(str("tab\there"), "\"tab\there\"");
  EXPECT_EQ(str("caf\xC3\xA9"), "{5}\r\ncaf\xC3\xA9");  // UTF-8: a literal for IMAP4rev1
  EXPECT_EQ(str("caf\xE9"), "{4}\r\ncaf\xE9");          // not UTF-8 either
  EXPECT_EQ(str("a\r\nb"), "{4}\r\na\r\nb");
  EXPECT_EQ(str("a\rb"), "{3}\r\na\rb");
  EXPECT_EQ(str("a\0b"s),
            "{5}\r\na\xEF\xBF\xBD"
            "b");  // NUL: no IMAP string holds it
  EXPECT_EQ(str(std::string(1024, 'x')), "\"" + std::string(1024, 'x') + "\"");
  EXPECT_EQ(str(std::string(1025, 'x')), "{1025}\r\n" + std::string(1025, 'x'));
  std::string n;
  append_imap_nstring(n, "");
  append_imap_nstring(n, "x");
  EXPECT_EQ(n, "NIL\"x\"");
}

TEST(ImapAddress, Forms) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"", "NIL"},
      {"  ", "NIL"},
      {",,", "NIL"},
      {"a@b", "((NIL NIL \"a\" \"b\"))"},
      {"Alice <a@b>", "((\"Alice\" NIL \"a\" \"b\"))"},
      {"\"Doe, John\" <j@d>, x@y", "((\"Doe, John\" NIL \"j\" \"d\")(NIL NIL \"x\" \"y\"))"},
      {"=?UTF-8?Q?J=C3=B6rg?=  =?UTF-8?Q?_M?= <j@x>",
       "((\"=?UTF-8?Q?J=C3=B6rg?= =?UTF-8?Q?_M?=\" NIL \"j\" \"x\"))"},
      {"\"a \\\"b\\\" \\\\c\" <q@x>", "((\"a \\\"b\\\" \\\\c\" NIL \"q\" \"x\"))"},
      {"John Q. Public <jqp@x>", "((\"John Q. Public\" NIL \"jqp\" \"x\"))"},
      {"<@r1,@r2:u@h>", "((NIL \"@r1,@r2\" \"u\" \"h\"))"},
      {"root", "((NIL NIL \"root\" \"MISSING_DOMAIN\"))"},
      {"Foo <>", "((\"Foo\" NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\"))"},
      {"<>", "NIL"},
      {"\"john doe\"@x", "((NIL NIL \"john doe\" \"x\"))"},
      {"a . b @ c . d", "((NIL NIL \"a.b\" \"c.d\"))"},
      {"u@[192.0.2.1]", "((NIL NIL \"u\" \"[192.0.2.1]\"))"},
      // A comment after a bare address is its name (as Dovecot reads it).
      {"x@y (Comment, with comma)", "((\"Comment, with comma\" NIL \"x\" \"y\"))"},
      {"undisclosed-recipients:;", "((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL))"},
      {"G: a@b, \"c, d\" <c@d>;, e@f",
       "((NIL NIL \"G\" NIL)(NIL NIL \"a\" \"b\")(\"c, d\" NIL \"c\" \"d\")(NIL NIL NIL NIL)"
       "(NIL NIL \"e\" \"f\"))"},
      {"Open: a@b", "((NIL NIL \"Open\" NIL)(NIL NIL \"a\" \"b\")(NIL NIL NIL NIL))"},
      {":;", "((NIL NIL \"\" NIL)(NIL NIL NIL NIL))"},
      {"J\xC3\xB6rg <j@x>", "(({5}\r\nJ\xC3\xB6rg NIL \"j\" \"x\"))"},
      {"\"unterminated <a@b>", "((NIL NIL \"unterminated <a@b>\" \"MISSING_DOMAIN\"))"},
      {"a@b (unterminated", "((NIL NIL \"a\" \"b\"))"},
      {"<a@b", "((NIL NIL \"a\" \"b\"))"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(list(in), want) << in;
}

TEST(ImapEnvelope, SenderAndReplyToDefaultToFrom) {
  message_structure s;
  s.from = "A <a@b>";
  s.subject = "x";
  EXPECT_EQ(imap_envelope(s),
            "(NIL \"x\" ((\"A\" NIL \"a\" \"b\")) ((\"A\" NIL \"a\" \"b\")) ((\"A\" NIL \"a\" "
            "\"b\")) NIL NIL NIL NIL NIL)");
  s.sender = "  ";  // present but empty
  s.reply_to = "r@b";
  s.message_id = "<m@b>";
  s.in_reply_to = "<i@b>";
  s.date = "Mon, 1 Jan 2024 10:00:00 +0000";
  EXPECT_EQ(imap_envelope(s),
            "(\"Mon, 1 Jan 2024 10:00:00 +0000\" \"x\" ((\"A\" NIL \"a\" \"b\")) ((\"A\" NIL \"a\" "
            "\"b\")) ((NIL NIL \"r\" \"b\")) NIL NIL NIL \"<i@b>\" \"<m@b>\")");
  EXPECT_EQ(imap_envelope(message_structure{}), "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
}

TEST(ImapBodystructure, SimpleTextAndDefaults) {
  const message_structure s = parse(crlf("Subject: x\n\nline 1\nline 2\n"));
  EXPECT_EQ(imap_bodystructure(s, false),
            "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 16 2)");
  EXPECT_EQ(
      imap_bodystructure(s, true),
      "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 16 2 NIL NIL NIL NIL)");
  const message_structure h = parse(crlf("Content-Type: text/html; charset=\"UTF-8\"\n\nx"));
  EXPECT_EQ(imap_bodystructure(h, false),
            "(\"TEXT\" \"HTML\" (\"CHARSET\" \"UTF-8\") NIL NIL \"7BIT\" 1 1)");
  const message_structure a = parse(crlf("Content-Type: application/x-thing\n\nx"));
  EXPECT_EQ(imap_bodystructure(a, true),
            "(\"APPLICATION\" \"X-THING\" NIL NIL NIL \"7BIT\" 1 NIL NIL NIL NIL)");
}

TEST(ImapBodystructure, EmptyMultipartGetsOneEmptyPart) {
  const message_structure s =
      parse(crlf("Content-Type: multipart/mixed; boundary=b\n\nno parts\n"));
  EXPECT_EQ(imap_bodystructure(s, false),
            "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0) \"MIXED\")");
  EXPECT_EQ(imap_bodystructure(s, true),
            "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0 NIL NIL NIL NIL) "
            "\"MIXED\" (\"BOUNDARY\" \"b\") NIL NIL NIL)");
}

TEST(ImapBodystructure, NonAsciiParameterIsRfc2231Encoded) {
  const message_structure s =
      parse(crlf("Content-Type: application/octet-stream; name*=utf-8''%E2%82%AC.txt\n"
                 "Content-Disposition: attachment; filename=\"=?UTF-8?B?w6Q=?=\"\n\nx"));
  ASSERT_EQ(s.parts[0].type_params.size(), 1u);
  EXPECT_EQ(s.parts[0].type_params[0].second, "\xE2\x82\xAC.txt");
  EXPECT_EQ(
      imap_bodystructure(s, true),
      "(\"APPLICATION\" \"OCTET-STREAM\" (\"NAME*\" \"utf-8''%E2%82%AC.txt\") NIL NIL \"7BIT\" "
      "1 NIL (\"ATTACHMENT\" (\"FILENAME*\" \"utf-8''%C3%A4\")) NIL NIL)");
}

TEST(ImapBodystructure, LegacyRowWithoutNewFields) {
  // A version-1 row: no parameters list, no envelope; what it has is used.
  const std::string v1 =
      "postern-mime 1\t10\t1\t3\n"
      "part\t\tmultipart/mixed\t\tb\t\t\t7bit\t\t\t0\t10\t40\t1\n"
      "part\t1\tmessage/rfc822\t\t\t\t\t7bit\t\t\t12\t14\t20\t1\n"
      "part\t1.1\ttext/plain\tutf-8\t\t\t\t7bit\t\t\t14\t16\t3\t1\n";
  message_structure s;
  ASSERT_TRUE(deserialize(v1, s));
  EXPECT_TRUE(s.legacy_format);
  EXPECT_EQ(
      imap_bodystructure(s, true),
      "((\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 20 (NIL NIL NIL NIL NIL NIL NIL NIL NIL "
      "NIL) (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" 3 1 NIL NIL NIL NIL) "
      "1 NIL NIL NIL NIL) \"MIXED\" (\"BOUNDARY\" \"b\") NIL NIL NIL)");
  expect_valid(s);
}

TEST(ImapBodystructure, CorruptPartListsStayValid) {
  message_structure s;
  EXPECT_EQ(imap_bodystructure(s, false),
            "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0)");
  for (const char* type : {"multipart/", "message/rfc822", "nonsense", ""}) {
    s.parts.assign(3, part{});
    s.parts[0].content_type = type;
    s.parts[1].section = "7.7";
    s.parts[2].section = "1";
    s.parts[2].content_type = type;
    expect_valid(s);
  }
  // Nesting far past what parse() produces is cut at a fixed depth.
  s.parts.clear();
  std::string section;
  for (int i = 0; i < 2000; ++i) {
    part p;
    p.section = section;
    p.content_type = "multipart/mixed";
    s.parts.push_back(p);
    section += section.empty() ? "1" : ".1";
  }
  expect_valid(s);
}

TEST(ImapBodystructure, DeepAndWideParsedMessagesStayValid) {
  std::string deep = "Content-Type: multipart/mixed; boundary=b0\r\n\r\n";
  for (int i = 1; i < 150; ++i) {
    deep += "--b" + std::to_string(i - 1) + "\r\nContent-Type: message/rfc822\r\n\r\n";
    deep += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\r\n\r\n";
  }
  expect_valid(parse(deep));
  std::string wide = "Content-Type: multipart/mixed; boundary=b\r\n\r\n";
  for (int i = 0; i < 12000; ++i) wide += "--b\r\n\r\nx\r\n";
  expect_valid(parse(wide));
}

// The corpus: every <name>.eml in tests/data/mime (CRLF, as the store keeps
// messages) with <name>.expected next to it, checked by hand against RFC 9051 §9:
//   ENVELOPE <envelope>\nBODYSTRUCTURE <bodystructure>\nBODY <body>\n
// (literals inside keep their CRLF). POSTERN_MIME_CORPUS overrides the directory;
// POSTERN_MIME_CORPUS_WRITE=1 rewrites the .expected files (then check them again).
std::filesystem::path corpus_dir() {
  namespace fs = std::filesystem;
  if (const char* dir = std::getenv("POSTERN_MIME_CORPUS")) return dir;
  const fs::path rel = fs::path("tests") / "data" / "mime";
  std::error_code ec;
  // Beside this source file (an absolute __FILE__, as CMake passes it), else in
  // the working directory or one above it (a build directory in the tree).
  if (const fs::path p = fs::path(__FILE__).parent_path() / ".." / ".." / rel;
      fs::is_directory(p, ec)) {
    return p;
  }
  for (fs::path p = fs::current_path(ec); !p.empty(); p = p.parent_path()) {
    if (fs::is_directory(p / rel, ec)) return p / rel;
    if (p == p.parent_path()) break;
  }
  return rel;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ImapCorpus, EveryMessageMatchesItsExpectedFile) {
  const std::filesystem::path dir = corpus_dir();
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  std::vector<std::filesystem::path> messages;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".eml") messages.push_back(e.path());
  }
  std::sort(messages.begin(), messages.end());
  EXPECT_GE(messages.size(), 15u);
  const bool write = std::getenv("POSTERN_MIME_CORPUS_WRITE") != nullptr;
  for (const auto& m : messages) {
    SCOPED_TRACE(m.filename().string());
    const std::string msg = read_file(m);
    // The store keeps CRLF: no bare LF in the corpus.
    for (size_t i = 0; i < msg.size(); ++i) {
      if (msg[i] == '\n') {
        ASSERT_TRUE(i > 0 && msg[i - 1] == '\r') << "bare LF at " << i;
      }
    }
    const message_structure s = parse(msg);
    expect_valid(s);
    // What comes back from the index gives the same answers.
    message_structure back;
    ASSERT_TRUE(deserialize(serialize(s), back));
    const std::string got = "ENVELOPE " + imap_envelope(s) + "\nBODYSTRUCTURE " +
                            imap_bodystructure(s, true) + "\nBODY " + imap_bodystructure(s, false) +
                            "\n";
    EXPECT_EQ(got, "ENVELOPE " + imap_envelope(back) + "\nBODYSTRUCTURE " +
                       imap_bodystructure(back, true) + "\nBODY " +
                       imap_bodystructure(back, false) + "\n");
    std::filesystem::path expected = m;
    expected.replace_extension(".expected");
    if (write) std::ofstream(expected, std::ios::binary) << got;
    ASSERT_TRUE(std::filesystem::exists(expected));
    EXPECT_EQ(got, read_file(expected));
  }
}

}  // namespace
}  // namespace postern::mime
