// With BOOST_ASIO_SEPARATE_COMPILATION, Asio's out-of-line code is compiled
// here once instead of in every file that includes it.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
