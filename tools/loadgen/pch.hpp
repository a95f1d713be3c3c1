// Heavy headers shared by every translation unit of the load generator.
#pragma once

#include <fmt/format.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
