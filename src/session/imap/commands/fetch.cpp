// FETCH and UID FETCH (RFC 9051 §6.4.5, §7.5.2) with CONDSTORE's
// CHANGEDSINCE and QRESYNC's VANISHED (RFC 7162 §3.1.4, §3.2.6), BINARY
// (RFC 3516), SAVEDATE (RFC 8514) and OBJECTID (RFC 8474). Flags, sizes and
// dates come from the shared view; ENVELOPE, BODYSTRUCTURE and the section
// offsets from the structure parsed at delivery; message bytes from the
// blob, read in pieces so a large BODY[] is streamed, never held whole.
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "base/strings.hpp"
#include "mime/imap_structure.hpp"
#include "mime/message_structure.hpp"
#include "mime/transfer_decode.hpp"
#include "net/blocking.hpp"
#include "proto/imap/fetch_items.hpp"
#include "session/imap/commands.hpp"
#include "session/imap/sequence.hpp"
#include "session/imap/status.hpp"
#include "session/imap/sync.hpp"

namespace postern::session::imap {

namespace {

using proto::imap::fetch_att;
using proto::imap::section_spec;
using kind = fetch_att::kind;

constexpr uint64_t inline_limit = 256 * 1024;  // larger ranges are streamed

std::string imap_date(int64_t t) {
  static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  return fmt::format("\"{:02}-{}-{:04} {:02}:{:02}:{:02} +0000\"", tm.tm_mday, months[tm.tm_mon],
                     tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

// A section of the top-level header (BODY[HEADER], BODY[HEADER.FIELDS (...)]
// and .NOT, RFC822.HEADER): answered from the header kept in the index at
// delivery, without the message's file, when the row has it (format 6).
bool is_top_header(const fetch_att& a) {
  using text = section_spec::text;
  if (a.what == kind::rfc822_header) return true;
  return a.what == kind::body_section && a.section.part.empty() &&
         (a.section.what == text::header || a.section.what == text::header_fields ||
          a.section.what == text::header_fields_not);
}

bool needs_blob(const fetch_att& a) {
  return a.what == kind::body_section || a.what == kind::rfc822 || a.what == kind::rfc822_header ||
         a.what == kind::rfc822_text || a.what == kind::binary || a.what == kind::binary_size;
}

bool needs_structure(const fetch_att& a) {
  switch (a.what) {
    case kind::envelope:
    case kind::body_structure_short:
    case kind::bodystructure:
    case kind::binary:
    case kind::binary_size:
    case kind::preview:  // read per message on the pool, like a structure
      return true;
    case kind::body_section:
      return !a.section.part.empty();
    default:
      return false;
  }
}

bool sets_seen(const fetch_att& a) {
  return !a.peek && (a.what == kind::body_section || a.what == kind::rfc822 ||
                     a.what == kind::rfc822_text || a.what == kind::binary);
}

// One piece of a FETCH response: text, or a range of the blob sent as a
// literal (streamed when large).
struct piece {
  std::string text;
  uint64_t offset = 0, length = 0;
  bool range = false;
};

// Where a section lies in the message: a byte range, or computed bytes.
struct located {
  uint64_t offset = 0, length = 0;
  bool computed = false;
  std::string bytes;
  std::string error;  // [UNKNOWN-CTE] etc.
};

const mime::part* find_part(const mime::message_structure& st, const std::string& sec,
                            size_t* index = nullptr) {
  for (size_t i = 0; i < st.parts.size(); ++i)
    if (st.parts[i].section == sec) {
      if (index) *index = i;
      return &st.parts[i];
    }
  return nullptr;
}

std::string part_name(const std::vector<uint32_t>& p) {
  std::string s;
  for (auto n : p) s += (s.empty() ? "" : ".") + std::to_string(n);
  return s;
}

bool is_message(const mime::part& p) {
  return p.content_type == "message/rfc822" || p.content_type == "message/global";
}

// The header fields of `header` that HEADER.FIELDS (or .NOT) selects, and
// the blank line (RFC 9051 §6.4.5).
std::string select_fields(std::string_view header, const section_spec& sec) {
  bool negate = sec.what == section_spec::text::header_fields_not;
  std::string out;
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = pos;
    // A field runs to the line break not followed by folding white space.
    for (;;) {
      size_t nl = header.find('\n', end);
      if (nl == std::string_view::npos) {
        end = header.size();
        break;
      }
      end = nl + 1;
      if (end >= header.size() || (header[end] != ' ' && header[end] != '\t')) break;
    }
    auto field = header.substr(pos, end - pos);
    pos = end;
    auto colon = field.find(':');
    if (colon == std::string_view::npos) continue;  // the blank line, or junk
    auto name = base::trim(field.substr(0, colon));
    bool listed = false;
    for (auto& f : sec.fields) listed |= base::iequals(f, name);
    if (listed != negate) out += field;
  }
  out += "\r\n";
  return out;
}

// A message's bytes as FETCH reads ranges of them: its file, or the bytes
// themselves for a message kept in the index (no descriptor to make for it).
struct message_bytes {
  int fd = -1;
  std::optional<std::string> memory;
  ssize_t read(char* to, size_t n, uint64_t off) const {
    if (!memory) return ::pread(fd, to, n, static_cast<off_t>(off));
    if (off >= memory->size()) return 0;
    n = std::min<size_t>(n, memory->size() - off);
    std::memcpy(to, memory->data() + off, n);
    return static_cast<ssize_t>(n);
  }
  bool held() const { return fd >= 0 || memory; }
};

// Finds a section: `st` may be empty (not loaded) when none is needed.
located locate(const section_spec& sec, const store::message_meta& m,
               const mime::message_structure& st, const message_bytes& src, bool binary) {
  located out;
  uint64_t hdr_off = 0, hdr_len = m.header_size, body_off = m.header_size,
           body_len = m.size - std::min(m.size, m.header_size);
  const mime::part* part = nullptr;
  if (!sec.part.empty()) {
    // RFC 9051 §6.4.5: a message that is not multipart has one part, "1",
    // its body. The structure numbers the entities inside that body from
    // "1" (an encapsulated message's parts), so IMAP's "1.x" is its "x".
    std::vector<uint32_t> path = sec.part;
    bool single = st.parts.empty() || st.parts[0].content_type.rfind("multipart/", 0) != 0;
    if (single) {
      if (path[0] != 1) {
        out.computed = true;  // a part that does not exist is empty
        return out;
      }
      path.erase(path.begin());
    }
    auto name = part_name(path);
    size_t idx = 0;
    part = name.empty() ? (st.parts.empty() ? nullptr : &st.parts[0]) : find_part(st, name, &idx);
    if (!part) {
      out.computed = true;
      return out;
    }
    if (sec.what == section_spec::text::mime) {
      out.offset = part->header_offset;
      out.length = part->body_offset - part->header_offset;
      return out;
    }
    if (sec.what == section_spec::text::all) {
      out.offset = part->body_offset;
      out.length = part->body_size;
      if (binary) {
        auto enc = mime::classify_cte(part->transfer_encoding);
        if (enc == mime::cte::unknown) {
          out.error = fmt::format("[UNKNOWN-CTE] Part {} has the transfer encoding {}", name,
                                  part->transfer_encoding);
          return out;
        }
        if (enc != mime::cte::identity) {
          std::string raw(out.length, '\0');
          auto n = src.read(raw.data(), raw.size(), out.offset);
          raw.resize(n > 0 ? static_cast<size_t>(n) : 0);
          out.computed = true;
          out.bytes = mime::decode_body(raw, enc);
        }
      }
      return out;
    }
    // HEADER, HEADER.FIELDS and TEXT of an encapsulated message.
    if (!is_message(*part) || idx + 1 >= st.parts.size()) {
      out.computed = true;
      return out;
    }
    auto& inner = st.parts[idx + 1];
    hdr_off = inner.header_offset;
    hdr_len = inner.body_offset - inner.header_offset;
    body_off = inner.body_offset;
    body_len = inner.body_size;
  }
  switch (sec.what) {
    case section_spec::text::all:
      out.offset = 0;
      out.length = m.size;
      break;
    case section_spec::text::header:
    case section_spec::text::mime:
      out.offset = hdr_off;
      out.length = hdr_len;
      break;
    case section_spec::text::text:
      out.offset = body_off;
      out.length = body_len;
      break;
    case section_spec::text::header_fields:
    case section_spec::text::header_fields_not: {
      std::string header(hdr_len, '\0');
      auto n = src.read(header.data(), header.size(), hdr_off);
      header.resize(n > 0 ? static_cast<size_t>(n) : 0);
      out.computed = true;
      out.bytes = select_fields(header, sec);
      break;
    }
  }
  return out;
}

struct message_work {
  store::message_meta meta;
  uint32_t seq = 0;
  bool set_seen = false;
};

struct built {
  std::vector<piece> pieces;
  std::string error;                   // a NO for the whole command, with its code
  std::optional<base::error> failure;  // a store failure (mapped by error_reply)
  bool gone = false;                   // expunged meanwhile
  message_bytes src;
};

// The blocking part of one message's FETCH: structure, blob, small ranges.
// `stored`, when given, is the structure already read (a batch); its
// ENVELOPE rendered at delivery spares deserializing when that is all the
// structure is needed for.
built build_message(store::mailbox& mb, const std::string& folder, const message_work& w,
                    const std::vector<fetch_att>& items, bool need_blob, bool need_structure,
                    std::string head, const store::stored_structure* stored = nullptr) {
  built b;
  mime::message_structure st;
  auto kept = [&](const std::optional<std::string> store::stored_structure::*field) {
    return stored && stored->*field ? &*(stored->*field) : nullptr;
  };
  const std::string* envelope = kept(&store::stored_structure::envelope);
  const std::string* bodystructure = kept(&store::stored_structure::bodystructure);
  const std::string* body = kept(&store::stored_structure::body);
  const std::string* header = kept(&store::stored_structure::header);
  // What the index kept at delivery spares deserializing the structure and
  // opening the file when it is all that is asked for.
  bool structure_kept = true, blob_kept = true;
  for (auto& a : items) {
    if (needs_structure(a))
      structure_kept &= a.what == kind::preview || (a.what == kind::envelope && envelope) ||
                        (a.what == kind::bodystructure && bodystructure) ||
                        (a.what == kind::body_structure_short && body);
    if (needs_blob(a)) blob_kept &= is_top_header(a) && header;
  }
  if (need_structure && stored) {
    if (!structure_kept && !mime::deserialize(stored->structure, st))
      st = mime::message_structure{};
  } else if (need_structure) {
    auto text = mb.structure(folder, w.meta.uid);
    if (!text) {
      b.gone = text.err().code == base::errc::expunge_issued;
      if (!b.gone) b.failure = text.err();
      return b;
    }
    if (!mime::deserialize(*text, st)) st = mime::message_structure{};
  }
  if (need_blob && !blob_kept && store::kept_inline(w.meta.blob_id)) {
    auto bytes = mb.read_kept_blob(w.meta.blob_id, w.meta.uid);
    if (!bytes) {
      b.gone = bytes.err().code == base::errc::not_found;
      if (!b.gone) b.failure = bytes.err();
      return b;
    }
    b.src.memory = std::move(*bytes);
  } else if (need_blob && !blob_kept) {
    auto fd = mb.open_blob(w.meta.blob_id, w.meta.uid);
    if (!fd) {
      b.gone = fd.err().code == base::errc::not_found;
      if (!b.gone) b.failure = fd.err();
      return b;
    }
    b.src.fd = *fd;
  }
  std::string text = std::move(head);
  // Items are separated by one space; none after the opening "(".
  auto sep = [&]() -> const char* { return !text.empty() && text.back() == '(' ? "" : " "; };
  auto flush_text = [&] {
    if (!text.empty()) b.pieces.push_back(piece{std::move(text), 0, 0, false});
    text.clear();
  };
  for (auto& a : items) {
    switch (a.what) {
      case kind::envelope:
        text += sep();
        text += "ENVELOPE ";
        text += envelope ? *envelope : mime::imap_envelope(st);
        break;
      case kind::bodystructure:
        text += sep();
        text += "BODYSTRUCTURE ";
        text += bodystructure ? *bodystructure : mime::imap_bodystructure(st, true);
        break;
      case kind::body_structure_short:
        text += sep();
        text += "BODY ";
        text += body ? *body : mime::imap_bodystructure(st, false);
        break;
      case kind::preview: {
        // RFC 8970 §3: the text as a string (NIL only when there is none to give).
        auto p = mb.previews(folder, {w.meta.uid});
        text += sep();
        text += "PREVIEW ";
        if (p && !p->empty() && (*p)[0]) {
          mime::append_imap_string(text, *(*p)[0]);
        } else {
          text += "NIL";
        }
        break;
      }
      case kind::binary_size: {
        auto loc = locate(a.section, w.meta, st, b.src, true);
        if (!loc.error.empty()) {
          b.error = loc.error;
          return b;
        }
        text += sep();
        text += fmt::format("{} {}", a.response_name, loc.computed ? loc.bytes.size() : loc.length);
        break;
      }
      case kind::rfc822:
      case kind::rfc822_header:
      case kind::rfc822_text:
      case kind::body_section:
      case kind::binary: {
        section_spec sec = a.section;
        if (a.what == kind::rfc822) sec.what = section_spec::text::all;
        if (a.what == kind::rfc822_header) sec.what = section_spec::text::header;
        if (a.what == kind::rfc822_text) sec.what = section_spec::text::text;
        located loc;
        if (header && is_top_header(a)) {
          loc.computed = true;
          loc.bytes =
              sec.what == section_spec::text::header ? *header : select_fields(*header, sec);
        } else {
          loc = locate(sec, w.meta, st, b.src, a.what == kind::binary);
        }
        if (!loc.error.empty()) {
          b.error = loc.error;
          return b;
        }
        uint64_t total = loc.computed ? loc.bytes.size() : loc.length;
        uint64_t from = 0, len = total;
        if (a.partial) {
          from = std::min(a.partial->offset, total);
          len = std::min(a.partial->length, total - from);
        }
        if (!loc.computed && len <= inline_limit) {
          // Small ranges are read now, so a NUL in them can be seen.
          loc.bytes.resize(len);
          auto n = b.src.read(loc.bytes.data(), len, loc.offset + from);
          if (n != static_cast<ssize_t>(len)) {
            b.failure =
                base::error{base::errc::io_error,
                            fmt::format("message UID {} could not be read whole", w.meta.uid), ""};
            return b;
          }
          loc.computed = true;
          from = 0;
        }
        text += sep();
        if (!loc.computed) {
          text += fmt::format("{} {{{}}}\r\n", a.response_name, len);
          flush_text();
          b.pieces.push_back(piece{{}, loc.offset + from, len, true});
          break;
        }
        std::string_view bytes = std::string_view(loc.bytes).substr(from, len);
        bool nul = bytes.find('\0') != std::string_view::npos;
        if (nul && a.what != kind::binary) {
          // A literal cannot carry NUL (RFC 9051 §4.3): binary content asked
          // for as BODY goes out base64-encoded, as a 7-bit client can take it.
          auto encoded = base::base64_encode(bytes);
          std::string wrapped;
          for (size_t i = 0; i < encoded.size(); i += 76) wrapped += encoded.substr(i, 76) + "\r\n";
          text += fmt::format("{} {{{}}}\r\n", a.response_name, wrapped.size());
          text += wrapped;
          break;
        }
        // BINARY: literal8 when it holds NUL (RFC 3516 §4.2).
        text += fmt::format("{} {}{{{}}}\r\n", a.response_name, nul ? "~" : "", bytes.size());
        text += bytes;
        break;
      }
      default:
        break;
    }
  }
  flush_text();
  // Every range of a message kept in memory was read into the text (they
  // are at most inline_limit): its bytes need not wait for the client.
  if (b.src.memory &&
      std::none_of(b.pieces.begin(), b.pieces.end(), [](auto& p) { return p.range; }))
    b.src.memory.reset();
  return b;
}

using work_batch = std::vector<std::pair<message_work, std::string>>;  // with each head

// Closes the blobs a batch opened, however its emission ends.
struct blob_closer {
  std::vector<built>& results;
  ~blob_closer() {
    for (auto& b : results)
      if (b.src.fd >= 0) ::close(b.src.fd);
  }
};

// Sends one message's built pieces: text as is, large ranges of the blob
// streamed in inline_limit chunks. False when the command is over.
net::awaitable<bool> emit_built(session& s, const built& b, bool& some_gone) {
  if (b.gone) {
    some_gone = true;
    co_return true;
  }
  if (b.failure) {
    s.no(error_reply(s, *b.failure));
    co_return false;
  }
  if (!b.error.empty()) {
    s.no(b.error);
    co_return false;
  }
  for (auto& p : b.pieces) {
    if (!p.range) {
      s.out += p.text;
      bool sent = co_await s.flush_if_full();
      if (!sent) co_return false;
      continue;
    }
    uint64_t off = p.offset, left = p.length;
    const message_bytes* src = &b.src;
    while (left > 0) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(left, inline_limit));
      auto read = [src, off, n]() -> std::string {
        std::string chunk(n, '\0');
        auto got = src->read(chunk.data(), n, off);
        chunk.resize(got > 0 ? static_cast<size_t>(got) : 0);
        return chunk;
      };
      auto chunk = co_await net::run_reading(std::move(read));
      if (chunk.empty()) {
        // The client was promised `length` bytes; it cannot be given
        // less, so the session ends rather than desynchronise.
        s.quit = true;
        co_return false;
      }
      s.out += chunk;
      off += chunk.size();
      left -= chunk.size();
      bool sent = co_await s.flush_if_full();
      if (!sent) co_return false;
    }
  }
  s.out += ")\r\n";
  bool sent = co_await s.flush_if_full();
  co_return sent;
}

// Whether emit_built would only append `b`'s text: no byte range to read,
// nothing to report, and small enough to go past the budget check at once.
bool fits_in_place(const built& b) {
  if (b.gone || b.failure || !b.error.empty()) return false;
  size_t bytes = 0;
  for (auto& p : b.pieces) {
    if (p.range) return false;
    bytes += p.text.size();
  }
  return bytes <= 64 * 1024;
}

// The blocking part of FETCH for a batch of messages: one thread-pool round
// trip and one read of the structures for many messages, not one per
// message (imaptest's FETCH of 20 messages' headers made 20 round trips).
// A call stops early once the text it built passes batch_bytes, so a batch
// of large sections is never held whole; the caller calls again for the rest.
// False when the command is over (a NO was sent, or the client is gone).
net::awaitable<bool> emit_batch(session& s, work_batch& batch, const std::vector<fetch_att>& items,
                                bool need_blob, bool need_structure, bool& some_gone) {
  constexpr size_t batch_bytes = 1024 * 1024;
  constexpr size_t batch_blobs = 32;  // open files per call, per session
  auto mb = s.mailbox;
  auto folder = s.selected->name;
  auto work = std::make_shared<work_batch>(std::move(batch));
  batch.clear();
  // Header sections may be kept in the index: read the rows for them too.
  bool headers = std::any_of(items.begin(), items.end(), [](auto& a) { return is_top_header(a); });
  bool read_kept = need_structure || headers;
  // Sections and BINARY locate parts in the structure; the renderings alone
  // do not need it where they are kept.
  bool parts = std::any_of(items.begin(), items.end(), [](auto& a) {
    return needs_structure(a) && a.what != kind::envelope && a.what != kind::bodystructure &&
           a.what != kind::body_structure_short;
  });
  for (size_t done = 0; done < work->size();) {
    auto run = [mb, folder, work, done, items, need_blob, need_structure, read_kept, headers,
                parts] {
      std::vector<built> out;
      std::optional<std::vector<std::optional<store::stored_structure>>> texts;
      if (read_kept) {
        std::vector<uint32_t> uids;
        for (size_t i = done; i < work->size(); ++i) uids.push_back((*work)[i].first.meta.uid);
        auto read = mb->structures(folder, uids, headers, parts);
        if (!read) {
          out.emplace_back().failure = read.err();
          return out;
        }
        texts = std::move(*read);
      }
      size_t bytes = 0, opened = 0;
      for (size_t i = done; i < work->size() && bytes < batch_bytes && opened < batch_blobs; ++i) {
        auto& [w, head] = (*work)[i];
        const store::stored_structure* stored = nullptr;
        if (texts) {
          auto& t = (*texts)[i - done];
          if (!t) {
            out.emplace_back().gone = true;
            continue;
          }
          stored = &*t;
        }
        out.push_back(build_message(*mb, folder, w, items, need_blob, need_structure,
                                    std::move(head), stored));
        opened += out.back().src.held();
        for (auto& p : out.back().pieces) bytes += p.text.size();
      }
      return out;
    };
    auto results = co_await net::run_reading(std::move(run));
    blob_closer closer{results};
    done += results.size();
    for (auto& b : results) {
      // A small answer made of text alone (what a client opening a folder
      // asks for every message: ENVELOPE, headers) goes out in place, with
      // the budget checked per line: two coroutine calls per message were
      // most of the I/O thread's time in FETCH 1:* (ENVELOPE).
      if (fits_in_place(b)) {
        for (auto& p : b.pieces) s.out += p.text;
        s.out += ")\r\n";
        if (s.out.size() < core::output_budget) continue;
        bool sent = co_await s.flush();
        if (!sent) co_return false;
        continue;
      }
      bool more = co_await emit_built(s, b, some_gone);
      if (!more) co_return false;
    }
  }
  co_return true;
}

// What a FETCH line says from the view alone (no store access).
struct view_items {
  const std::vector<fetch_att>* items;
  bool uid, flags, modseq;
};

// "* SEQ FETCH (" and the view's items of `m`, appended to `out`; the caller
// holds the view's reader lock and adds the rest of the line.
void append_view_items(std::string& out, const session& s, const store::message_meta& m,
                       const view_items& what) {
  const auto& sel = *s.selected;
  auto out_it = std::back_inserter(out);
  fmt::format_to(out_it, "* {} FETCH (", sel.seq_of(m.uid));
  size_t start = out.size();
  auto sep = [&] {
    if (out.size() > start) out += ' ';
  };
  if (what.uid) {
    sep();
    fmt::format_to(out_it, "UID {}", m.uid);
  }
  if (what.flags) {
    sep();
    out += "FLAGS ";
    append_flag_list(out, *sel.view, m, !s.rev2 && sel.is_recent(m.uid));
  }
  for (auto& a : *what.items) {
    switch (a.what) {
      case kind::internaldate:
        sep();
        out += "INTERNALDATE " + imap_date(m.internal_date);
        break;
      case kind::rfc822_size:
        sep();
        fmt::format_to(out_it, "RFC822.SIZE {}", m.size);
        break;
      case kind::savedate:
        sep();
        out += m.save_date ? "SAVEDATE " + imap_date(m.save_date) : "SAVEDATE NIL";
        break;
      case kind::emailid:
        sep();
        fmt::format_to(out_it, "EMAILID ({})", email_id(m));
        break;
      case kind::threadid:
        sep();
        out += "THREADID NIL";
        break;
      default:
        break;
    }
  }
  if (what.modseq) {
    sep();
    fmt::format_to(out_it, "MODSEQ ({})", m.modseq);
  }
}

net::awaitable<void> fetch(session& s, std::string_view args, bool by_uid) {
  auto req = proto::imap::parse_fetch(args);
  if (!req) {
    s.bad(req.error().words);
    co_return;
  }
  auto& sel = *s.selected;
  if (req->vanished && (!by_uid || !s.qresync || !req->changed_since)) {
    s.bad("VANISHED needs UID FETCH, CHANGEDSINCE and ENABLE QRESYNC (RFC 7162 §3.2.6)");
    co_return;
  }
  auto r = resolve(sel, req->set, by_uid);
  if (!r.error.empty()) {
    s.bad(r.error);
    co_return;
  }
  auto items = req->items;
  bool want_uid = by_uid, want_flags = false, want_modseq = false;
  bool need_blob = false, need_structure = false, any_seen = false;
  for (auto& a : items) {
    want_uid |= a.what == kind::uid;
    want_flags |= a.what == kind::flags;
    want_modseq |= a.what == kind::modseq;
    need_structure |= needs_structure(a);
    need_blob |= needs_blob(a);
    any_seen |= sets_seen(a);
  }
  if (req->changed_since) {
    want_modseq = true;
    s.condstore = true;
  }
  if (want_modseq) s.condstore = true;
  if (any_seen && sel.read_only) any_seen = false;

  if (req->vanished) {
    auto mb = s.mailbox;
    auto n = sel.name;
    auto since = *req->changed_since;
    auto read = [mb, n, since] { return mb->expunged_since(n, since); };
    auto gone = co_await net::run_reading(std::move(read));
    if (gone) {
      auto norm = proto::imap::normalize(req->set, sel.uids.empty() ? 0 : sel.uids.back());
      std::vector<uint32_t> in_set;
      for (auto u : *gone)
        for (auto& rg : norm)
          if (u >= rg.first && u <= rg.last) in_set.push_back(u);
      if (!in_set.empty()) s.untagged("VANISHED (EARLIER) " + compress_set(in_set));
    }
  }

  // \Seen first, in one transaction, so the FLAGS sent below are the new ones.
  if (any_seen) {
    std::vector<uint32_t> unseen;
    {
      auto lock = sel.view->reader();
      for (auto uid : r.uids) {
        auto* m = sel.view->find(uid);
        if (m && !(m->flags & store::flag_seen)) unseen.push_back(uid);
      }
    }
    if (!unseen.empty()) {
      auto mb = s.mailbox;
      auto n = sel.name;
      store::flag_update u{store::flag_change::add, store::flag_seen, {}, {}};
      auto run = [mb, n, unseen, u] { return mb->store_flags(n, unseen, u); };
      auto done = co_await net::run_blocking(std::move(run));
      if (done) {
        for (auto& m : done->changed) sel.own_changes.emplace_back(m.uid, m.modseq);
        want_flags = true;
      }
    }
  }

  bool some_gone = false;
  const view_items what{&items, want_uid, want_flags, want_modseq};
  if (!need_blob && !need_structure) {
    // Flags, sizes and dates only: written straight into the output, up to
    // 1024 messages per hold of the view's lock, and the budget checked per
    // line rather than by a coroutine call (that was a third of FETCH 1:*
    // (FLAGS)'s time; a lock and a line's strings per message, a fifth).
    constexpr size_t per_lock = 1024;
    size_t i = 0;
    while (i < r.uids.size()) {
      {
        auto lock = sel.view->reader();
        announce_flags(s, *sel.view);
        for (size_t end = std::min(r.uids.size(), i + per_lock);
             i < end && s.out.size() < core::output_budget; ++i) {
          auto* m = sel.view->find(r.uids[i]);
          if (!m) {
            some_gone = true;
            continue;
          }
          if (req->changed_since && m->modseq <= *req->changed_since) continue;
          append_view_items(s.out, s, *m, what);
          s.out += ")\r\n";
        }
      }
      if (s.out.size() < core::output_budget) continue;
      bool sent = co_await s.flush();
      if (!sent) co_return;
    }
  }
  // Messages whose answer needs the store (structure or blob) go in batches.
  constexpr size_t batch_size = 256;
  work_batch batch;
  static const std::vector<uint32_t> none;
  const auto& wanted = need_blob || need_structure ? r.uids : none;
  for (size_t i = 0; i < wanted.size();) {
    {
      // One hold of the view's lock per batch, not per message.
      auto lock = sel.view->reader();
      announce_flags(s, *sel.view);
      for (; i < wanted.size() && batch.size() < batch_size; ++i) {
        auto* m = sel.view->find(wanted[i]);
        if (!m) {
          some_gone = true;
          continue;
        }
        if (req->changed_since && m->modseq <= *req->changed_since) continue;
        message_work w;
        w.meta = *m;
        w.seq = sel.seq_of(wanted[i]);
        std::string head;
        append_view_items(head, s, *m, what);
        batch.emplace_back(w, std::move(head));
      }
    }
    if (batch.size() < batch_size) continue;
    bool more = co_await emit_batch(s, batch, items, need_blob, need_structure, some_gone);
    if (!more) co_return;
  }
  if (!batch.empty()) {
    bool more = co_await emit_batch(s, batch, items, need_blob, need_structure, some_gone);
    if (!more) co_return;
  }
  if (some_gone) {
    s.no(
        "[EXPUNGEISSUED] Some of the requested messages no longer exist: another session expunged "
        "them");
    co_return;
  }
  s.ok(by_uid ? "UID FETCH completed" : "FETCH completed");
}

}  // namespace

net::awaitable<void> cmd_fetch(session& s, std::string_view a) { co_await fetch(s, a, false); }
net::awaitable<void> cmd_uid_fetch(session& s, std::string_view a) { co_await fetch(s, a, true); }

}  // namespace postern::session::imap
