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
    case errc::disk_full:
      return "disk_full";
    case errc::over_quota:
      return "over_quota";
    case errc::too_big:
      return "too_big";
    case errc::in_use:
      return "in_use";
    case errc::no_permission:
      return "no_permission";
    case errc::authentication_failed:
      return "authentication_failed";
    case errc::authorization_failed:
      return "authorization_failed";
    case errc::privacy_required:
      return "privacy_required";
    case errc::expunge_issued:
      return "expunge_issued";
    case errc::cannot:
      return "cannot";
    case errc::unavailable:
      return "unavailable";
  }
  return "unknown";
}

}  // namespace postern::base
