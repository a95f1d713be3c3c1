// IMAP THREAD (RFC 5256 §3, §4): the ORDEREDSUBJECT and REFERENCES algorithms,
// and REFS (draft-ietf-morg-inthread §4, as Dovecot implements it), over data
// the caller has already read from the messages; and the response text.
//
// Input, one thread_input per message the THREAD command's search matched:
// - number: what the response prints, the sequence number (THREAD) or the UID
//   (UID THREAD). Non-zero (0 means a dummy in the output) and unique; both
//   orders follow the mailbox, so `number` is also the tie-breaker of equal sent
//   dates (RFC 5256 §2.2) and the order in which REFERENCES step (1) takes the
//   messages (so of two messages with one Message-ID, the lower number keeps it).
// - message_id, in_reply_to, references: the raw header field values, "" when
//   absent (parse_message_ids() below reads them).
// - base_subject, reply_or_forward: base_subject() of the Subject field
//   (base_subject.hpp).
// - sent_date: RFC 5256 §2.2, Unix seconds: the Date field in UTC, or the
//   INTERNALDATE when Date is absent or cannot be parsed.
//
// Output: a forest. thread_forest::nodes holds every node once; roots and
// children are indices into it, each list in the order the response gives.
// The forest is flat, not nested, so a chain of 100,000 replies can be built,
// copied and destroyed without recursion. No node is unreachable from roots.
//
// Algorithms:
// - ORDEREDSUBJECT (§3): messages grouped by equal base subject (an empty one
//   too); in each group the earliest message is the root and the others its
//   children, in order of sent date; groups in order of their first message.
// - REFERENCES (§3), steps (1) to (6):
//   (1) Message-IDs link messages; a message's references are its References
//       field, or when that holds no Message-ID the first one in In-Reply-To. A
//       message without a Message-ID, or with one an earlier message (by
//       `number`) has, is linked by none; a message's own Message-ID among its
//       references is ignored. Unknown IDs become dummies. A link that would make
//       a message its own ancestor is not made, so any input gives a forest.
//   (2), (3) dummies without children go, dummies with children give way to
//       them, except a dummy at the top with more than one child.
//   (4) top-level threads in order of sent date.
//   (5) top-level threads with the same (non-empty) base subject are merged, by
//       the rules of step (5)(C), using reply_or_forward.
//   (6) every set of siblings in order of sent date; a dummy sorts as its first
//       child.
// - REFS: REFERENCES without step (5), and the top-level threads in order of
//   the most recent message in each (by sent date, then number), oldest first.
// "In order of sent date" is always: by sent_date, then by number.
//
// Cost: O((n + r) log(n + r)) time for n messages and r Message-IDs in their
// fields, with no input making it worse (parent/child links are checked for
// loops in a link-cut forest, not by walking chains); memory linear. No
// recursion: the stack used never depends on the input.
//
// Errors: none; every input gives a forest, and header fields that are not valid
// are read as far as they are. Threads: any thread; no state between calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace postern::mime {

struct thread_input {
  uint32_t number = 0;
  std::string message_id;
  std::string in_reply_to;
  std::string references;
  std::string base_subject;
  bool reply_or_forward = false;
  int64_t sent_date = 0;
};

struct thread_node {
  uint32_t number = 0;             // 0 for a dummy
  std::vector<uint32_t> children;  // indices into thread_forest::nodes
};

struct thread_forest {
  std::vector<thread_node> nodes;
  std::vector<uint32_t> roots;  // indices into nodes
};

thread_forest thread_orderedsubject(const std::vector<thread_input>& messages);
thread_forest thread_references(const std::vector<thread_input>& messages);
thread_forest thread_refs(const std::vector<thread_input>& messages);

// The thread-list items of an untagged THREAD response (RFC 5256 §4), without
// the leading "THREAD " and without CRLF; "" for no threads. Example:
// "(2)(3 6 (4 23)(44 7 96))". A node's only child follows it after a space; two
// or more children are each a parenthesised list. A dummy prints no number: with
// one child it is that child, with more its children are a nested list, as in
// "((3)(5))"; a dummy with no messages below it prints nothing. Any forest is
// accepted: indices out of range are skipped, and a node reached a second time
// (a shared node or a cycle, which the functions above never make) is printed
// only the first time. Iterative; linear in the size of the forest.
std::string format_threads(const thread_forest& threads);

// The Message-IDs (RFC 5322 §3.6.4 msg-id) in a Message-ID, In-Reply-To or
// References field value, in order, normalised so that equal IDs are equal
// strings: "<" and ">" dropped, a quoted local part unquoted (RFC 5256 §3, so
// <"a.b"@x> is a.b@x). An ID needs a non-empty local part, "@" and a non-empty
// domain (dot-atom or domain literal), without blanks; anything else, comments
// and quoted strings outside angle brackets included, is skipped. At most
// `limit` IDs are returned. Linear time.
std::vector<std::string> parse_message_ids(std::string_view field_value,
                                           size_t limit = static_cast<size_t>(-1));

}  // namespace postern::mime
