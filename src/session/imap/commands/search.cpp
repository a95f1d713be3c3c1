// SEARCH and UID SEARCH (RFC 9051 §6.4.4) with ESEARCH's RETURN options
// (RFC 4731), SEARCHRES's SAVE and "$" (RFC 5182), CONDSTORE's MODSEQ key
// (RFC 7162 §3.1.5), SAVEDATE and OBJECTID keys. Flag, size, date and UID
// keys are answered from the shared view; header and text keys read the
// message through a read-only mapping, decoded (RFC 2047 words,
// quoted-printable, base64, the part's charset) and case-folded.
#include <fcntl.h>
#include <fmt/format.h>
#include <gmime/gmime.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

#include "base/strings.hpp"
#include "mime/message_structure.hpp"
#include "mime/text_decode.hpp"
#include "mime/text_search.hpp"
#include "net/blocking.hpp"
#include "proto/imap/search_keys.hpp"
#include "session/imap/commands.hpp"
#include "session/imap/sequence.hpp"
#include "session/imap/status.hpp"

namespace postern::session::imap {

namespace {

using proto::imap::search_key;
using key = search_key::kind;

bool needs_message(const search_key& k) {
  switch (k.what) {
    case key::bcc:
    case key::body:
    case key::cc:
    case key::from:
    case key::header:
    case key::subject:
    case key::text:
    case key::to:
    case key::sentbefore:
    case key::senton:
    case key::sentsince:
      return true;
    default:
      for (auto& c : k.children)
        if (needs_message(c)) return true;
      return false;
  }
}

bool uses_modseq(const search_key& k) {
  if (k.what == key::modseq) return true;
  for (auto& c : k.children)
    if (uses_modseq(c)) return true;
  return false;
}

// An address header as addresses are compared: comments dropped and no
// white space around "@" and ".", so "<user (c)@ (c) example.org>" is found
// by "user@example.org" (RFC 5322 §3.4 allows CFWS there).
std::string bare_addresses(std::string_view raw) {
  std::string out;
  int depth = 0;
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '\\' && depth > 0) {
      ++i;
      continue;
    }
    if (c == '(') {
      ++depth;
      continue;
    }
    if (c == ')' && depth > 0) {
      --depth;
      continue;
    }
    if (depth) continue;
    if (blank(c)) {
      size_t j = i;
      while (j < raw.size() && blank(raw[j])) ++j;
      bool next_joins = j < raw.size() && (raw[j] == '@' || raw[j] == '.' || raw[j] == '(');
      bool prev_joins = !out.empty() && (out.back() == '@' || out.back() == '.');
      if (!next_joins && !prev_joins) out += ' ';
      i = j - 1;
      continue;
    }
    out += c;
  }
  return out;
}

// Days since 1970-01-01 of an RFC 5322 Date header, or nullopt.
std::optional<int64_t> sent_day(const std::string& date) {
  if (date.empty()) return std::nullopt;
  GDateTime* dt = g_mime_utils_header_decode_date(date.c_str());
  if (!dt) return std::nullopt;
  // RFC 9051 §6.4.4: SENT* compare the date "disregarding time and timezone".
  int y = g_date_time_get_year(dt), m = g_date_time_get_month(dt),
      d = g_date_time_get_day_of_month(dt);
  g_date_time_unref(dt);
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  return ::timegm(&tm) / 86400;
}

// The message of one candidate, mapped only if a key needs it.
struct message_access {
  store::mailbox& mb;
  const std::string& folder;
  const store::message_meta& meta;
  bool loaded = false;
  mime::message_structure st;
  void* map = MAP_FAILED;
  size_t len = 0;
  ~message_access() {
    if (map != MAP_FAILED) ::munmap(map, len);
  }
  bool load() {
    if (loaded) return map != MAP_FAILED || len == 0;
    loaded = true;
    auto text = mb.structure(folder, meta.uid);
    if (!text || !mime::deserialize(*text, st)) return false;
    auto fd = mb.open_blob(meta.blob_id, meta.uid);
    if (!fd) return false;
    len = static_cast<size_t>(meta.size);
    if (len) map = ::mmap(nullptr, len, PROT_READ, MAP_PRIVATE, *fd, 0);
    ::close(*fd);
    return map != MAP_FAILED || len == 0;
  }
  std::string_view bytes() const {
    return map == MAP_FAILED ? std::string_view() : std::string_view(static_cast<char*>(map), len);
  }
};

struct evaluator {
  const std::vector<std::string>& keywords;                  // the folder's, bit order
  const std::vector<uint32_t>& uids;                         // the session's sequence map
  const std::vector<uint32_t>& saved;                        // "$"
  const std::vector<std::pair<uint32_t, uint32_t>>& recent;  // this session's \Recent
  uint32_t largest_uid;
  int64_t now;

  bool is_recent(uint32_t uid) const {
    for (auto& r : recent)
      if (uid >= r.first && uid < r.second) return true;
    return false;
  }
  bool keyword_set(const store::message_meta& m, const std::string& k) const {
    for (size_t i = 0; i < keywords.size() && i < 64; ++i)
      if (base::iequals(keywords[i], k)) return (m.keywords >> i) & 1;
    return false;
  }
  bool in_set(const proto::imap::sequence_set& set, uint32_t value, uint32_t largest) const {
    for (auto& r : proto::imap::normalize(set, largest))
      if (value >= r.first && value <= r.last) return true;
    return false;
  }

  bool match(const search_key& k, const store::message_meta& m, uint32_t seq,
             message_access& msg) const {
    auto flag = [&](uint32_t f) { return (m.flags & f) != 0; };
    int64_t day = m.internal_date / 86400;
    int64_t saved_day = m.save_date / 86400;
    auto header = [&](std::string_view field, const std::string& text) {
      if (!msg.load()) return false;
      return mime::header_field_contains(msg.bytes(), msg.st, field, mime::text_needle(text));
    };
    auto address = [&](std::string_view field, const std::string& text) {
      if (header(field, text)) return true;
      const std::string& raw = field == "From" ? msg.st.from
                               : field == "To" ? msg.st.to
                               : field == "Cc" ? msg.st.cc
                                               : msg.st.bcc;
      mime::text_needle n(text);
      return n.found_in(mime::fold_case(bare_addresses(mime::decode_header_value(raw))));
    };
    switch (k.what) {
      case key::all:
        return true;
      case key::answered:
        return flag(store::flag_answered);
      case key::deleted:
        return flag(store::flag_deleted);
      case key::draft:
        return flag(store::flag_draft);
      case key::flagged:
        return flag(store::flag_flagged);
      case key::seen:
        return flag(store::flag_seen);
      case key::unanswered:
        return !flag(store::flag_answered);
      case key::undeleted:
        return !flag(store::flag_deleted);
      case key::undraft:
        return !flag(store::flag_draft);
      case key::unflagged:
        return !flag(store::flag_flagged);
      case key::unseen:
        return !flag(store::flag_seen);
      case key::recent:
        return is_recent(m.uid);
      case key::new_:
        return is_recent(m.uid) && !flag(store::flag_seen);
      case key::old:
        return !is_recent(m.uid);
      case key::keyword:
        return keyword_set(m, k.text);
      case key::unkeyword:
        return !keyword_set(m, k.text);
      case key::larger:
        return m.size > k.number;
      case key::smaller:
        return m.size < k.number;
      case key::before:
        return day < k.date;
      case key::on:
        return day == k.date;
      case key::since:
        return day >= k.date;
      case key::savedbefore:
        return m.save_date && saved_day < k.date;
      case key::savedon:
        return m.save_date && saved_day == k.date;
      case key::savedsince:
        return m.save_date && saved_day >= k.date;
      case key::savedatesupported:
        return true;
      case key::older:
        return now - m.internal_date >= static_cast<int64_t>(k.number);
      case key::younger:
        return now - m.internal_date <= static_cast<int64_t>(k.number);
      case key::modseq:
        return m.modseq >= k.number;
      case key::emailid:
        return k.text == email_id(m);
      case key::threadid:
        return false;
      case key::uid:
        if (k.set.saved_result) return std::binary_search(saved.begin(), saved.end(), m.uid);
        return in_set(k.set, m.uid, largest_uid);
      case key::sequence:
        if (k.set.saved_result) return std::binary_search(saved.begin(), saved.end(), m.uid);
        return in_set(k.set, seq, static_cast<uint32_t>(uids.size()));
      case key::not_:
        return !match(k.children.at(0), m, seq, msg);
      case key::or_:
        return match(k.children.at(0), m, seq, msg) || match(k.children.at(1), m, seq, msg);
      case key::and_:
        for (auto& c : k.children)
          if (!match(c, m, seq, msg)) return false;
        return true;
      case key::from:
        return address("From", k.text);
      case key::to:
        return address("To", k.text);
      case key::cc:
        return address("Cc", k.text);
      case key::bcc:
        return address("Bcc", k.text);
      case key::subject:
        return header("Subject", k.text);
      case key::header:
        return header(k.text, k.value);
      case key::body:
        if (!msg.load()) return false;
        return mime::body_contains(msg.bytes(), msg.st, mime::text_needle(k.text));
      case key::text:
        if (!msg.load()) return false;
        return mime::text_contains(msg.bytes(), msg.st, mime::text_needle(k.text));
      case key::sentbefore:
      case key::senton:
      case key::sentsince: {
        if (!msg.load()) return false;
        auto d = sent_day(msg.st.date);
        if (!d) d = day;  // RFC 9051: no usable Date: the internal date stands in
        if (k.what == key::sentbefore) return *d < k.date;
        if (k.what == key::senton) return *d == k.date;
        return *d >= k.date;
      }
    }
    return false;
  }
};

net::awaitable<void> search(session& s, std::string_view args, bool by_uid) {
  auto req = proto::imap::parse_search(args);
  if (!req) {
    s.bad(req.error().words);
    co_return;
  }
  if (!req->charset.empty() && !base::iequals(req->charset, "UTF-8") &&
      !base::iequals(req->charset, "US-ASCII")) {
    s.no("[BADCHARSET (UTF-8 US-ASCII)] Only UTF-8 and US-ASCII searches are supported");
    co_return;
  }
  auto& sel = *s.selected;
  bool modseq_key = uses_modseq(req->root);
  if (modseq_key) s.condstore = true;
  // A snapshot of what the session sees, so the evaluation can run off the
  // I/O thread without holding the view.
  std::vector<store::message_meta> metas;
  std::vector<char> present;  // false: expunged meanwhile, matches nothing
  std::vector<std::string> keywords;
  {
    auto lock = sel.view->reader();
    keywords = sel.view->keywords;
    metas.reserve(sel.uids.size());
    for (auto uid : sel.uids) {
      auto* m = sel.view->find(uid);
      metas.push_back(m ? *m : store::message_meta{});
      present.push_back(m != nullptr);
    }
  }
  auto uids = sel.uids;
  auto saved = sel.saved_search;
  std::sort(saved.begin(), saved.end());
  auto mb = s.mailbox;
  auto folder = sel.name;
  auto root = req->root;
  bool heavy = needs_message(root);
  auto recent = s.rev2 ? decltype(sel.recent){} : sel.recent;
  auto run = [mb, folder, metas = std::move(metas), present = std::move(present),
              recent = std::move(recent), keywords = std::move(keywords), uids = std::move(uids),
              saved = std::move(saved), root]() {
    evaluator ev{keywords,
                 uids,
                 saved,
                 recent,
                 uids.empty() ? 0 : uids.back(),
                 static_cast<int64_t>(::time(nullptr))};
    std::vector<std::pair<uint32_t, uint32_t>> hits;  // (seq, uid)
    uint64_t top_modseq = 0;
    for (size_t i = 0; i < metas.size(); ++i) {
      auto& m = metas[i];
      if (!present[i]) continue;
      message_access acc{*mb, folder, m, false, {}};
      if (ev.match(root, m, static_cast<uint32_t>(i + 1), acc)) {
        hits.emplace_back(static_cast<uint32_t>(i + 1), m.uid);
        top_modseq = std::max(top_modseq, m.modseq);
      }
    }
    return std::make_pair(std::move(hits), top_modseq);
  };
  std::pair<std::vector<std::pair<uint32_t, uint32_t>>, uint64_t> found;
  if (heavy) {
    found = co_await net::run_reading(std::move(run));
  } else {
    found = run();  // flags, sizes, dates and UIDs only: memory, no disk
  }
  auto& hits = found.first;
  std::vector<uint32_t> numbers;
  numbers.reserve(hits.size());
  for (auto& h : hits) numbers.push_back(by_uid ? h.second : h.first);
  if (req->ret_save) {
    sel.saved_search.clear();
    auto pick = [&](uint32_t uid) { sel.saved_search.push_back(uid); };
    if (req->ret_min || req->ret_max) {
      // RFC 5182 §2.4: with MIN or MAX only those are saved.
      if (!hits.empty() && req->ret_min) pick(hits.front().second);
      if (!hits.empty() && req->ret_max && hits.size() > 1) pick(hits.back().second);
    } else {
      for (auto& h : hits) pick(h.second);
    }
  }
  bool esearch = req->has_return || s.rev2;
  if (!esearch) {
    std::string line = "SEARCH";
    for (auto n : numbers) line += fmt::format(" {}", n);
    if (modseq_key && !hits.empty()) line += fmt::format(" (MODSEQ {})", found.second);
    s.untagged(line);
  } else if (!(req->has_return && req->ret_save && !req->ret_min && !req->ret_max &&
               !req->ret_all && !req->ret_count)) {
    bool all = req->ret_all || !req->has_return ||
               !(req->ret_min || req->ret_max || req->ret_count || req->ret_save);
    std::string line = fmt::format("ESEARCH (TAG \"{}\"){}", s.tag, by_uid ? " UID" : "");
    if (!numbers.empty()) {
      if (req->ret_min) line += fmt::format(" MIN {}", numbers.front());
      if (req->ret_max) line += fmt::format(" MAX {}", numbers.back());
      if (all) line += " ALL " + compress_set(numbers);
    }
    if (req->ret_count) line += fmt::format(" COUNT {}", numbers.size());
    if (modseq_key && !hits.empty()) {
      // RFC 7162 §3.1.5: the highest modseq of the messages returned.
      auto modseq_of = [&](uint32_t uid) {
        auto lock = sel.view->reader();
        auto* m = sel.view->find(uid);
        return m ? m->modseq : uint64_t{0};
      };
      uint64_t top = found.second;
      if (req->has_return && !all && !req->ret_count) {
        top = 0;
        if (req->ret_min) top = std::max(top, modseq_of(hits.front().second));
        if (req->ret_max) top = std::max(top, modseq_of(hits.back().second));
      }
      line += fmt::format(" MODSEQ {}", top);
    }
    s.untagged(line);
  }
  s.ok(by_uid ? "UID SEARCH completed" : "SEARCH completed");
}

}  // namespace

net::awaitable<void> cmd_search(session& s, std::string_view a) { co_await search(s, a, false); }
net::awaitable<void> cmd_uid_search(session& s, std::string_view a) { co_await search(s, a, true); }

}  // namespace postern::session::imap
