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
#include <iterator>
#include <memory>
#include <optional>
#include <unordered_map>

#include "base/strings.hpp"
#include "mime/message_structure.hpp"
#include "mime/search_document.hpp"
#include "mime/search_fold.hpp"
#include "mime/text_decode.hpp"
#include "mime/text_search.hpp"
#include "net/blocking.hpp"
#include "proto/imap/search_keys.hpp"
#include "session/imap/commands.hpp"
#include "session/imap/commands/search_eval.hpp"
#include "session/imap/contexts.hpp"
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
  // Made only when a key reads the message: SEARCH ALL over 100,000 messages
  // builds none.
  std::optional<mime::message_structure> structure;
  void* map = MAP_FAILED;
  size_t len = 0;
  ~message_access() {
    if (map != MAP_FAILED) ::munmap(map, len);
  }
  bool load() {
    if (loaded) return map != MAP_FAILED || len == 0;
    loaded = true;
    auto text = mb.structure(folder, meta.uid);
    structure.emplace();
    if (!text || !mime::deserialize(*text, *structure)) return false;
    auto fd = mb.open_blob(meta.blob_id, meta.uid);
    if (!fd) return false;
    len = static_cast<size_t>(meta.size);
    if (len) map = ::mmap(nullptr, len, PROT_READ, MAP_PRIVATE, *fd, 0);
    ::close(*fd);
    return map != MAP_FAILED || len == 0;
  }
  const mime::message_structure& st() const { return *structure; }
  std::string_view bytes() const {
    return map == MAP_FAILED ? std::string_view() : std::string_view(static_cast<char*>(map), len);
  }
  // The best SEARCH=FUZZY score of a fuzzy key this message matched (RFC 6203
  // §4 RELEVANCY); 0 when none did.
  uint8_t relevancy = 0;
  // What the full-text index would hold for it, for a message it does not
  // hold yet: the same text, so the answer does not depend on the indexer.
  std::optional<mime::search_document> doc;
  const mime::search_document* document() {
    if (!doc) {
      if (!load()) return nullptr;
      doc = mime::make_search_document(bytes(), st());
    }
    return &*doc;
  }
};

// The full-text index's answers for the text keys of one SEARCH.
struct index_answers {
  std::unordered_map<const search_key*, size_t> query_of;  // key -> answer.hits index
  store::text_answer answer;
  bool covers(uint64_t blob) const {
    return !std::binary_search(answer.unindexed.begin(), answer.unindexed.end(),
                               static_cast<int64_t>(blob));
  }
  // 0 when the key's query did not find the message, else its score.
  uint8_t hit(const search_key& k, uint64_t blob) const {
    size_t q = query_of.at(&k);
    auto& h = answer.hits[q];
    auto it = std::lower_bound(h.begin(), h.end(), static_cast<int64_t>(blob));
    if (it == h.end() || *it != static_cast<int64_t>(blob)) return 0;
    auto& sc = answer.scores[q];
    size_t at = static_cast<size_t>(it - h.begin());
    return at < sc.size() ? sc[at] : 100;
  }
};

std::optional<store::text_field> text_field_of(key k) {
  switch (k) {
    case key::subject:
      return store::text_field::subject;
    case key::from:
      return store::text_field::from;
    case key::to:
      return store::text_field::to;
    case key::cc:
      return store::text_field::cc;
    case key::bcc:
      return store::text_field::bcc;
    case key::body:
      return store::text_field::body;
    case key::text:
      return store::text_field::text;
    default:
      return std::nullopt;
  }
}

// Every text key with a needle, as a query for the index.
void collect_text_queries(const search_key& k, index_answers& idx,
                          std::vector<store::text_query>& queries) {
  if (auto field = text_field_of(k.what); field && !k.text.empty()) {
    auto folded = mime::search_fold(k.text);
    if (!folded.empty()) {
      idx.query_of[&k] = queries.size();
      queries.push_back({*field, std::move(folded), k.fuzzy});
    }
  }
  for (auto& c : k.children) collect_text_queries(c, idx, queries);
}

// 0 when the field does not hold the needle, else the score (100 when exact).
uint8_t field_contains(const mime::search_document& d, store::text_field f,
                       const std::string& needle, bool fuzzy) {
  auto in = [&](const std::string& text) -> uint8_t {
    if (fuzzy) return mime::fuzzy_match(text, needle);
    return text.find(needle) != std::string::npos ? 100 : 0;
  };
  switch (f) {
    case store::text_field::subject:
      return in(d.subject);
    case store::text_field::from:
      return in(d.from);
    case store::text_field::to:
      return in(d.to);
    case store::text_field::cc:
      return in(d.cc);
    case store::text_field::bcc:
      return in(d.bcc);
    case store::text_field::headers:
      return in(d.headers);
    case store::text_field::body:
      return in(d.body);
    case store::text_field::text:
      return std::max(in(d.headers), in(d.body));
  }
  return 0;
}

// The index's hits (blob ids, ascending) of a text key every match must
// satisfy: a direct key of the top-level AND that the index answered.
const std::vector<int64_t>* driving_hits(const search_key& root, const index_answers& idx) {
  for (auto& k : root.children) {
    auto q = idx.query_of.find(&k);
    if (q != idx.query_of.end()) return &idx.answer.hits[q->second];
  }
  return nullptr;
}

struct evaluator {
  const std::vector<std::string>& keywords;                  // the folder's, bit order
  const std::vector<uint32_t>& uids;                         // the session's sequence map
  const std::vector<uint32_t>& saved;                        // "$"
  const std::vector<std::pair<uint32_t, uint32_t>>& recent;  // this session's \Recent
  uint32_t largest_uid;
  int64_t now;
  const index_answers* index = nullptr;  // null: no index, every message is read

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
      return mime::header_field_contains(msg.bytes(), msg.st(), field, mime::text_needle(text));
    };
    // SUBJECT, FROM, TO, CC, BCC, BODY, TEXT: the index when it holds the
    // message, else the same text made from the message.
    auto text_key = [&](store::text_field field, std::string_view header_name) {
      if (k.text.empty()) {
        // RFC 9051 §6.4.4: "" matches every message that has the field.
        if (header_name.empty()) return true;
        return header(header_name, k.text);
      }
      uint8_t score = 0;
      if (index && index->query_of.count(&k) && index->covers(m.blob_id)) {
        score = index->hit(k, m.blob_id);
      } else if (auto* d = msg.document(); !d) {
        return false;
      } else if (d->truncated && !k.fuzzy &&
                 (field == store::text_field::body || field == store::text_field::text)) {
        mime::text_needle n(k.text);
        return field == store::text_field::body ? mime::body_contains(msg.bytes(), msg.st(), n)
                                                : mime::text_contains(msg.bytes(), msg.st(), n);
      } else {
        score = field_contains(*d, field, mime::search_fold(k.text), k.fuzzy);
      }
      if (score && k.fuzzy) msg.relevancy = std::max(msg.relevancy, score);
      return score != 0;
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
        return text_key(store::text_field::from, "From");
      case key::to:
        return text_key(store::text_field::to, "To");
      case key::cc:
        return text_key(store::text_field::cc, "Cc");
      case key::bcc:
        return text_key(store::text_field::bcc, "Bcc");
      case key::subject:
        return text_key(store::text_field::subject, "Subject");
      case key::header:
        return header(k.text, k.value);
      case key::body:
        return text_key(store::text_field::body, "");
      case key::text:
        return text_key(store::text_field::text, "");
      case key::sentbefore:
      case key::senton:
      case key::sentsince: {
        if (!msg.load()) return false;
        auto d = sent_day(msg.st().date);
        if (!d) d = day;  // RFC 9051: no usable Date: the internal date stands in
        if (k.what == key::sentbefore) return *d < k.date;
        if (k.what == key::senton) return *d == k.date;
        return *d >= k.date;
      }
    }
    return false;
  }
};

}  // namespace

std::pair<size_t, size_t> partial_window(const proto::imap::search_partial_range& r, size_t n) {
  const uint64_t lo = static_cast<uint64_t>(std::min(std::abs(r.first), std::abs(r.last)));
  const uint64_t hi = static_cast<uint64_t>(std::max(std::abs(r.first), std::abs(r.last)));
  if (lo == 0) return {0, 0};
  if (r.first < 0) {
    size_t begin = hi >= n ? 0 : n - static_cast<size_t>(hi);
    size_t end = lo > n ? 0 : n - static_cast<size_t>(lo) + 1;
    return {begin, std::max(begin, end)};
  }
  size_t begin = static_cast<size_t>(std::min<uint64_t>(lo - 1, n));
  size_t end = static_cast<size_t>(std::min<uint64_t>(hi, n));
  return {begin, std::max(begin, end)};
}

bool charset_supported(session& s, const std::string& charset) {
  if (charset.empty() || base::iequals(charset, "UTF-8") || base::iequals(charset, "US-ASCII"))
    return true;
  s.no("[BADCHARSET (UTF-8 US-ASCII)] Only UTF-8 and US-ASCII searches are supported");
  return false;
}

net::awaitable<search_found> find_matches(session& s, const proto::imap::search_key& search_root,
                                          const std::vector<uint32_t>* only) {
  auto& sel = *s.selected;
  if (uses_modseq(search_root)) s.condstore = true;
  auto mb = s.mailbox;
  // Shared, because the index's answers are keyed by the keys' addresses.
  auto root = std::make_shared<const search_key>(search_root);
  // Text keys ask the full-text index first, for every message at once. A
  // few changed messages (an UPDATE context) are read instead.
  bool few = only && only->size() <= 64;
  auto idx = std::make_shared<index_answers>();
  bool indexed = false;
  if (s.settings->full_text_index && !few) {
    std::vector<store::text_query> queries;
    collect_text_queries(*root, *idx, queries);
    if (!queries.empty()) {
      auto ask = [mb, queries = std::move(queries)] { return mb->search_text(queries); };
      auto answer = co_await net::run_reading(std::move(ask));
      if (answer) {
        idx->answer = std::move(*answer);
        indexed = true;
      }
    }
  }
  if (!s.selected) co_return search_found{};
  // Only messages whose file a top-level text key's query found, or that the
  // index does not hold, can match: a rare word over 100,000 messages looks
  // at a handful.
  std::vector<int64_t> candidates;
  bool narrowed = false;
  if (indexed)
    if (auto* hits = driving_hits(*root, *idx)) {
      std::merge(hits->begin(), hits->end(), idx->answer.unindexed.begin(),
                 idx->answer.unindexed.end(), std::back_inserter(candidates));
      narrowed = candidates.size() < sel.uids.size() / 2;
    }
  // A snapshot of what the session sees, so the evaluation can run off the
  // I/O thread without holding the view. Both lists are in UID order: one walk.
  std::vector<store::message_meta> metas;
  std::vector<uint32_t> seqs;  // of each of metas
  std::vector<std::string> keywords;
  {
    auto lock = sel.view->reader();
    keywords = sel.view->keywords;
    const auto& msgs = sel.view->messages;
    size_t at = 0;
    auto take = [&](uint32_t uid, uint32_t seq) {
      while (at < msgs.size() && msgs[at].uid < uid) ++at;
      if (at == msgs.size() || msgs[at].uid != uid) return;  // expunged meanwhile
      auto& m = msgs[at];
      if (narrowed && !std::binary_search(candidates.begin(), candidates.end(),
                                          static_cast<int64_t>(m.blob_id)))
        return;
      metas.push_back(m);
      seqs.push_back(seq);
    };
    if (only) {
      metas.reserve(only->size());
      for (auto uid : *only)
        if (uint32_t seq = sel.seq_of(uid)) take(uid, seq);
    } else {
      metas.reserve(narrowed ? candidates.size() : sel.uids.size());
      for (size_t i = 0; i < sel.uids.size(); ++i) take(sel.uids[i], static_cast<uint32_t>(i + 1));
    }
  }
  // Sequence-number keys of an UPDATE context are UIDs by now.
  auto largest = sel.uids.empty() ? 0 : sel.uids.back();
  auto uids = only ? std::vector<uint32_t>{} : sel.uids;
  auto saved = sel.saved_search;
  std::sort(saved.begin(), saved.end());
  auto folder = sel.name;
  bool heavy = needs_message(*root);
  auto recent = s.rev2 ? decltype(sel.recent){} : sel.recent;
  auto run = [mb, folder, largest, indexed, idx, root, metas = std::move(metas),
              seqs = std::move(seqs), recent = std::move(recent), keywords = std::move(keywords),
              uids = std::move(uids), saved = std::move(saved)]() {
    evaluator ev{keywords,
                 uids,
                 saved,
                 recent,
                 largest,
                 static_cast<int64_t>(::time(nullptr)),
                 indexed ? idx.get() : nullptr};
    search_found out;
    for (size_t i = 0; i < metas.size(); ++i) {
      auto& m = metas[i];
      message_access acc{*mb, folder, m, false, {}, MAP_FAILED, 0, 0, {}};
      if (ev.match(*root, m, seqs[i], acc)) {
        out.hits.push_back({seqs[i], m.uid, m.size, m.modseq, m.internal_date,
                            acc.relevancy ? acc.relevancy : uint8_t{100}});
        out.top_modseq = std::max(out.top_modseq, m.modseq);
      }
    }
    return out;
  };
  if (heavy) co_return co_await net::run_reading(std::move(run));
  co_return run();  // flags, sizes, dates and UIDs only: memory, no disk
}

namespace {

net::awaitable<void> search(session& s, std::string_view args, bool by_uid) {
  auto req = proto::imap::parse_search(args);
  if (!req) {
    s.bad(req.error().words);
    co_return;
  }
  if (req->ret_update && update_tag_in_use(s, s.tag)) {
    s.bad(fmt::format("Tag reuse: \"{}\" already names an UPDATE context (RFC 5267 §4.3)", s.tag));
    co_return;
  }
  if (!charset_supported(s, req->charset)) co_return;
  auto& sel = *s.selected;
  bool modseq_key = uses_modseq(req->root);
  auto matched = co_await find_matches(s, req->root);
  std::pair<std::vector<std::pair<uint32_t, uint32_t>>, uint64_t> found;
  found.second = matched.top_modseq;
  for (auto& h : matched.hits) found.first.emplace_back(h.seq, h.uid);
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
    append_numbers(line, numbers);
    if (modseq_key && !hits.empty()) line += fmt::format(" (MODSEQ {})", found.second);
    s.untagged(line);
  } else if (!(req->has_return && req->ret_save && !req->ret_min && !req->ret_max &&
               !req->ret_all && !req->ret_count && !req->partial)) {
    bool all = req->ret_all || !req->has_return ||
               !(req->ret_min || req->ret_max || req->ret_count || req->ret_save || req->partial);
    std::string line = fmt::format("ESEARCH (TAG \"{}\"){}", s.tag, by_uid ? " UID" : "");
    if (!numbers.empty()) {
      if (req->ret_min) line += fmt::format(" MIN {}", numbers.front());
      if (req->ret_max) line += fmt::format(" MAX {}", numbers.back());
      if (all) line += " ALL " + compress_set(numbers);
    }
    if (req->partial) {
      // RFC 9394 §3.1: the numbers at those positions of the ascending result.
      auto [b, e] = partial_window(*req->partial, numbers.size());
      std::vector<uint32_t> part(numbers.begin() + static_cast<std::ptrdiff_t>(b),
                                 numbers.begin() + static_cast<std::ptrdiff_t>(e));
      line += fmt::format(" PARTIAL ({}:{} {})", req->partial->first, req->partial->last,
                          part.empty() ? "NIL" : compress_set(part));
    }
    if (req->ret_count) line += fmt::format(" COUNT {}", numbers.size());
    if (req->ret_relevancy && !numbers.empty()) {
      // RFC 6203 §4: a score per message, in the order of ALL.
      std::string scores;
      for (auto& h : matched.hits)
        scores += fmt::format("{}{}", scores.empty() ? "" : " ", h.relevancy);
      line += " RELEVANCY (" + scores + ")";
    }
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
  if (req->ret_update) {
    std::vector<uint32_t> uids;
    uids.reserve(hits.size());
    for (auto& h : hits) uids.push_back(h.second);
    open_context(s, req->root, {}, false, by_uid, std::move(uids), matched);
  }
  s.ok(by_uid ? "UID SEARCH completed" : "SEARCH completed");
}

}  // namespace

net::awaitable<void> cmd_search(session& s, std::string_view a) { co_await search(s, a, false); }
net::awaitable<void> cmd_uid_search(session& s, std::string_view a) { co_await search(s, a, true); }

}  // namespace postern::session::imap
