// Boost.JSON compiled once, here (header-only mode), instead of linking a
// library Debian ships only with the whole of Boost.
#include <boost/json/src.hpp>
