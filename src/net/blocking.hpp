// Runs blocking work off the I/O threads and resumes the calling coroutine
// on its own executor, so one slow disk or a burst of password checks never
// stalls the sessions of an I/O thread:
//   run_blocking(f)  disk and database work that writes (commits, fsync);
//   run_reading(f)   disk and database reads (folder views, structures, blob
//                    bytes, listings), on a pool of their own, so a command
//                    that only reads never queues behind other users' fsyncs;
//   run_cpu(f)       CPU-heavy work (password hashing), on its own small pool,
//                    so a burst of logins never delays an fsync.
// An exception thrown by `f` (std::bad_alloc on a huge message, a library
// error) is rethrown in the calling coroutine, where the session turns it into
// a coded reply for that session only; it never reaches std::terminate.
//
// Use: `auto work = [..] { return ...; }; auto r = co_await run_blocking(std::move(work));`
// Name the callable first: g++ 12 mishandles temporaries inside co_await
// expressions (destroys them twice), so callers keep none there.
#pragma once

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "net/asio.hpp"

namespace postern::net {

asio::thread_pool& blocking_pool();
asio::thread_pool& reading_pool();
asio::thread_pool& cpu_pool();

namespace detail {
// Lowers the calling pool thread's scheduling weight once (see blocking.cpp).
void yield_to_io_threads();

template <class F, class R = std::invoke_result_t<F&>>
auto post_to(asio::thread_pool& pool, F f) {
  return asio::async_initiate<decltype(asio::use_awaitable),
                              void(std::exception_ptr, std::optional<R>)>(
      [&pool](auto handler, F fn) {
        auto ex = asio::get_associated_executor(handler);
        // The session's io_context must not run out of work while the pool has it.
        auto work = asio::make_work_guard(ex);
        asio::post(pool, [ex, work = std::move(work), handler = std::move(handler),
                          fn = std::move(fn)]() mutable {
          yield_to_io_threads();
          std::exception_ptr failure;
          std::optional<R> r;
          try {
            r.emplace(fn());
          } catch (...) {
            failure = std::current_exception();
          }
          asio::post(ex, [handler = std::move(handler), failure, r = std::move(r)]() mutable {
            std::move(handler)(failure, std::move(r));
          });
        });
      },
      asio::use_awaitable, std::move(f));
}

template <class F, class R = std::invoke_result_t<F&>>
awaitable<R> run_on(asio::thread_pool& pool, F f) {
  // use_awaitable rethrows a non-null exception_ptr here, in the session.
  auto r = co_await post_to(pool, std::move(f));
  co_return std::move(*r);
}
}  // namespace detail

template <class F>
auto run_blocking(F f) {
  return detail::run_on(blocking_pool(), std::move(f));
}

template <class F>
auto run_reading(F f) {
  return detail::run_on(reading_pool(), std::move(f));
}

template <class F>
auto run_cpu(F f) {
  return detail::run_on(cpu_pool(), std::move(f));
}

}  // namespace postern::net
