#include "session/imap/flags.hpp"

#include "base/strings.hpp"
#include "store/store.hpp"

namespace postern::session::imap {

split_flags split_flag_names(const std::vector<std::string>& names) {
  split_flags out;
  for (auto& n : names) {
    if (base::iequals(n, "\\Seen"))
      out.system |= store::flag_seen;
    else if (base::iequals(n, "\\Answered"))
      out.system |= store::flag_answered;
    else if (base::iequals(n, "\\Flagged"))
      out.system |= store::flag_flagged;
    else if (base::iequals(n, "\\Deleted"))
      out.system |= store::flag_deleted;
    else if (base::iequals(n, "\\Draft"))
      out.system |= store::flag_draft;
    else if (!n.empty() && n[0] != '\\')
      out.keywords.push_back(n);
  }
  return out;
}

}  // namespace postern::session::imap
