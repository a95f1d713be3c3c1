// SORT and THREAD keys of a message (sort_record.hpp).
#include "mime/sort_record.hpp"

#include <gmime/gmime.h>

#include <algorithm>
#include <charconv>
#include <vector>

#include "base/strings.hpp"
#include "mime/base_subject.hpp"
#include "mime/header_fields.hpp"
#include "mime/imap_structure.hpp"
#include "mime/text_decode.hpp"

namespace postern::mime {

namespace {

constexpr char separator = '\x1e';
// s2: keys through i;unicode-casemap / i;ascii-casemap as RFC 5051 and
// RFC 4790 define them (upper, title case); an s1 text is made again.
constexpr std::string_view format_tag = "s2";

// i;ascii-casemap (RFC 4790 §9.2) compares ASCII letters upper-cased.
std::string ascii_upper(std::string s) {
  for (auto& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

// References past the limit: the last whole message ids are the ones that
// matter (the parent is last), so the cut is at the front.
std::string cut_references(std::string_view refs) {
  if (refs.size() <= max_references) return std::string(refs);
  auto tail = refs.substr(refs.size() - max_references);
  auto lt = tail.find('<');
  return std::string(lt == std::string_view::npos ? std::string_view() : tail.substr(lt));
}

void display_key(std::string_view header, std::string& out) {
  auto a = first_mailbox(header);
  if (!a) return;
  std::string name = decode_header_value(a->name);
  if (name.empty()) name = a->host.empty() ? a->mailbox : a->mailbox + "@" + a->host;
  out = unicode_casemap(name);
}

std::string clean(std::string_view v) {
  std::string s(v);
  std::replace(s.begin(), s.end(), separator, ' ');
  return s;
}

}  // namespace

bool parse_sent_date(std::string_view date, int64_t& seconds) {
  if (date.empty()) return false;
  std::string copy(date);
  GDateTime* dt = g_mime_utils_header_decode_date(copy.c_str());
  if (!dt) return false;
  seconds = g_date_time_to_unix(dt);
  g_date_time_unref(dt);
  return true;
}

sort_record make_sort_record(const sort_fields& f) {
  sort_record r;
  r.has_sent_date = parse_sent_date(f.date, r.sent_date);
  auto base = base_subject(f.subject);
  r.subject = std::move(base.base);
  r.reply_or_forward = base.reply_or_forward;
  auto mailbox_key = [](std::string_view header) {
    auto a = first_mailbox(header);
    return a ? ascii_upper(a->mailbox) : std::string();
  };
  r.from = mailbox_key(f.from);
  r.to = mailbox_key(f.to);
  r.cc = mailbox_key(f.cc);
  display_key(f.from, r.display_from);
  display_key(f.to, r.display_to);
  r.message_id = std::string(f.message_id);
  r.in_reply_to = std::string(f.in_reply_to);
  r.references = cut_references(f.references);
  return r;
}

sort_record make_sort_record(const message_structure& s, std::string_view header) {
  std::string references;
  for_each_field(header, [&](std::string_view name, std::string_view raw) {
    if (base::iequals(base::trim(name), "References")) {
      references.assign(raw);
      return true;
    }
    return false;
  });
  return make_sort_record(
      {s.subject, s.from, s.to, s.cc, s.date, s.message_id, s.in_reply_to, references});
}

std::string serialize(const sort_record& r) {
  std::string out(format_tag);
  auto add = [&](std::string_view v) {
    out += separator;
    out += clean(v);
  };
  add(r.has_sent_date ? std::to_string(r.sent_date) : "");
  add(r.reply_or_forward ? "1" : "0");
  for (auto* s : {&r.subject, &r.from, &r.to, &r.cc, &r.display_from, &r.display_to, &r.message_id,
                  &r.in_reply_to, &r.references})
    add(*s);
  return out;
}

bool deserialize(std::string_view text, sort_record& r) {
  std::vector<std::string_view> f;
  size_t at = 0;
  for (;;) {
    auto next = text.find(separator, at);
    f.push_back(
        text.substr(at, next == std::string_view::npos ? std::string_view::npos : next - at));
    if (next == std::string_view::npos) break;
    at = next + 1;
  }
  if (f.size() != 12 || f[0] != format_tag) return false;
  sort_record out;
  out.has_sent_date = !f[1].empty();
  if (out.has_sent_date) {
    auto [p, ec] = std::from_chars(f[1].data(), f[1].data() + f[1].size(), out.sent_date);
    if (ec != std::errc()) return false;
  }
  out.reply_or_forward = f[2] == "1";
  std::string* fields[] = {&out.subject,    &out.from,         &out.to,
                           &out.cc,         &out.display_from, &out.display_to,
                           &out.message_id, &out.in_reply_to,  &out.references};
  for (size_t i = 0; i < 9; ++i) fields[i]->assign(f[3 + i]);
  r = std::move(out);
  return true;
}

}  // namespace postern::mime
