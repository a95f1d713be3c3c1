// What a client may be told about a domain error. Errors from the disk and
// the databases carry paths and library text in their message; a client gets
// plain words for those and the session id, the log gets the detail.
#pragma once

#include <string>

#include "base/error.hpp"

namespace postern::session::core {

std::string client_words(const base::error& e);

}  // namespace postern::session::core
