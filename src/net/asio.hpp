// Short names for the Asio pieces the network and session layers use.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

namespace postern::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
template <class T = void>
using awaitable = asio::awaitable<T>;

// Completion token that returns error codes as values instead of throwing.
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

}  // namespace postern::net
