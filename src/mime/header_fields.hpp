// Walking the fields of one entity's header (RFC 5322 §2.2): shared by SEARCH
// matching (text_search.cpp) and the full-text index (search_document.cpp).
#pragma once

#include <functional>
#include <string_view>

namespace postern::mime {

// Calls f(name, raw value) for each field of the header that starts `header`,
// up to its blank line; stops early when f returns true, and returns that.
// Folded lines continue the value (RFC 5322 §2.2.3; the CRLFs stay in it); a
// line with no colon is not a field and is skipped.
bool for_each_field(std::string_view header,
                    const std::function<bool(std::string_view, std::string_view)>& f);

}  // namespace postern::mime
