#include "base/error.hpp"

namespace postern::base {

const char* errc_name(errc code) {
  switch (code) {
    case errc::not_found:
      return "not_found";
    case errc::already_exists:
      return "already_exists";
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::limit_exceeded:
      return "limit_exceeded";
    case errc::temporary:
      return "temporary";
    case errc::corrupt:
      return "corrupt";
    case errc::io_error:
      return "io_error";
  }
  return "unknown";
}

}  // namespace postern::base
