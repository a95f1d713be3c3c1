// The text a reader sees in an HTML body, for the full-text index and PREVIEW
// (RFC 8970 §3.1: a preview is of the text a reader sees, markup left out).
//
// - Tags go; a tag that breaks a line in a browser (p, div, br, li, tr, td,
//   h1-h6, table, blockquote, hr, ...) becomes one space, others (b, i, span,
//   a, font, ...) become nothing, so "wor<b>ld</b>" reads "world".
// - Everything inside script, style, template and comments is dropped (a
//   page's title is kept); a tag never closed drops the rest, as a browser would.
// - Character references: decimal and hex (&#233; &#xE9;), and the named ones
//   of HTML 4 (Latin-1, the symbols mail uses: &nbsp; &euro; &mdash; ...);
//   an unknown name is left as written. &nbsp; is a space.
// - Runs of white space become one space.
//
// Input is UTF-8 (the part already converted from its charset); output is UTF-8.
// Linear time, no recursion; output at most as long as the input plus 3 bytes
// per reference. Threads: any.
#pragma once

#include <string>
#include <string_view>

namespace postern::mime {

std::string html_to_text(std::string_view html);

}  // namespace postern::mime
