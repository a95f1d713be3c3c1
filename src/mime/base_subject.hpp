// The "base subject" of RFC 5256 §2.1, used by SORT SUBJECT, THREAD
// ORDEREDSUBJECT and the subject merging of THREAD REFERENCES (RFC 5256 §3).
//
// base_subject() runs the extraction exactly as §2.1 gives it:
// (1) RFC 2047 words are decoded (decode_header_value, text_decode.hpp); tabs,
//     line breaks and runs of blanks become one space.
// (2) subj-trailer ("(fwd)" and blanks) is removed from the end, repeatedly.
// (3) subj-leader is removed from the front: a blank, or any subj-blob ("[...]")
//     followed by a subj-refwd ("re", "fw" or "fwd", blanks, an optional
//     subj-blob, ":"), all matched without regard to ASCII case.
// (4) A leading subj-blob is removed if what remains is not empty.
// (5) (3) and (4) are repeated until neither matches.
// (6) If the text then begins with "[fwd:" and ends with "]", both are removed
//     and the extraction starts again at (2).
// The result is then case-folded (i;unicode-casemap, RFC 5051 §2: Unicode full
// case folding, then NFKD), so two base subjects are equal for the comparator
// exactly when their strings are ==. Case folding is ICU's default full folding
// (fold_case, text_decode.hpp) where RFC 5051 names titlecasing; both make the
// same classes of equal strings for everything but a few compatibility
// characters.
//
// reply_or_forward is what RFC 5256 §3 (REFERENCES) asks of the original
// subject: whether the extraction removed a subj-refwd (step 3), a "(fwd)"
// subj-trailer (step 2) or a "[fwd:" ... "]" pair (step 6). Removing blanks or
// a subj-blob alone does not make a message a reply.
//
// Input: the raw value of the Subject header field (what follows the colon,
// folding included), any bytes; an absent Subject is the empty string. Time is
// linear in the length of the input, whatever it holds (a megabyte of "re: " or
// of "[x]" included); memory is a few copies of it.
//
// Errors: none; every input has a base subject, possibly empty. The result is
// well-formed UTF-8 (decode_header_value turns bad bytes into U+FFFD).
// Threads: any thread; no state is kept between calls.
#pragma once

#include <string>
#include <string_view>

namespace postern::mime {

struct base_subject_result {
  std::string base;  // through unicode_casemap(); compare with == or as octets
  bool reply_or_forward = false;
};

base_subject_result base_subject(std::string_view raw_subject_header_value);

// i;unicode-casemap (RFC 5051 §2): titlecase each character, then NFKD;
// compare the results as octets. For SORT's subject and display keys.
std::string unicode_casemap(std::string_view utf8);

}  // namespace postern::mime
