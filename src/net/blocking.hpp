// Runs blocking work (fsync, SQLite writes, password hashing) on a shared
// thread pool and resumes the calling coroutine on its own executor, so one
// slow disk never stalls the I/O threads.
//
// Use: `auto work = [..] { return ...; }; auto r = co_await run_blocking(std::move(work));`
// Name the callable first: g++ 12 mishandles temporaries inside co_await
// expressions (destroys them twice), so callers keep none there.
#pragma once

#include <type_traits>
#include <utility>

#include "net/asio.hpp"

namespace postern::net {

asio::thread_pool& blocking_pool();

template <class F>
auto run_blocking(F f) {
  using R = std::invoke_result_t<F&>;
  return asio::async_initiate<decltype(asio::use_awaitable), void(R)>(
      [](auto handler, F fn) {
        auto ex = asio::get_associated_executor(handler);
        asio::post(blocking_pool(),
                   [ex, handler = std::move(handler), fn = std::move(fn)]() mutable {
                     R r = fn();
                     asio::post(ex, [handler = std::move(handler), r = std::move(r)]() mutable {
                       std::move(handler)(std::move(r));
                     });
                   });
      },
      asio::use_awaitable, std::move(f));
}

}  // namespace postern::net
