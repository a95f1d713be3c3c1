// What SORT (RFC 5256 §3, RFC 5957) and THREAD (RFC 5256 §3) compare, made
// once from a message's header at delivery and kept in the index, so sorting
// or threading a folder of 100,000 messages never opens a message.
//
// - sent_date: the Date field in seconds since the epoch (UTC); has_sent_date
//   false when there is none or it does not parse (the caller then uses the
//   internal date, as RFC 5256 says).
// - subject: the base subject (base_subject.hpp) through i;unicode-casemap;
//   reply_or_forward as base_subject says.
// - from, to, cc: addr-mailbox of the first address, ASCII upper-cased
//   (i;ascii-casemap), "" when there is none; a list that starts with a group
//   gives the group's name (as an ENVELOPE shows it).
// - display_from, display_to (RFC 5957 §3): the first address's display name,
//   RFC 2047 decoded, or its "mailbox@host" when it has none (the group's
//   name for a group); through i;unicode-casemap.
// - message_id, in_reply_to, references: the raw field values THREAD reads
//   (References cut at max_references bytes, whole message ids kept).
//
// serialize()/deserialize() give the compact text kept in the index's
// sort_keys column. Threads: any.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "mime/message_structure.hpp"

namespace postern::mime {

inline constexpr size_t max_references = 16 * 1024;

struct sort_fields {  // raw top-level header values, "" when absent
  std::string_view subject, from, to, cc, date, message_id, in_reply_to, references;
};

struct sort_record {
  int64_t sent_date = 0;
  bool has_sent_date = false;
  std::string subject;
  bool reply_or_forward = false;
  std::string from, to, cc, display_from, display_to;
  std::string message_id, in_reply_to, references;
};

sort_record make_sort_record(const sort_fields& f);
// The same from a parsed message and its top-level header's bytes (where
// References is read: the structure does not keep it).
sort_record make_sort_record(const message_structure& s, std::string_view header);

// The Date field as seconds since the epoch, or false.
bool parse_sent_date(std::string_view date, int64_t& seconds);

std::string serialize(const sort_record& r);
bool deserialize(std::string_view text, sort_record& r);

}  // namespace postern::mime
