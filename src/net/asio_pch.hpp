// Precompiled header: Asio and its SSL layer are the slowest headers in the
// build; compiling them once per target keeps rebuilds quick.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
