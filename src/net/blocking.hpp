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
#include "net/resume_queue.hpp"
#include "net/work_pool.hpp"

namespace postern::net {

work_pool& blocking_pool();
work_pool& reading_pool();
work_pool& cpu_pool();

namespace detail {

template <class F, class R = std::invoke_result_t<F&>>
auto post_to(work_pool& pool, F f) {
  return asio::async_initiate<decltype(asio::use_awaitable),
                              void(std::exception_ptr, std::optional<R>)>(
      [&pool](auto handler, F fn) {
        using handler_type = decltype(handler);
        struct done final : resumption {
          handler_type h;
          std::exception_ptr failure;
          std::optional<R> r;
          explicit done(handler_type&& x) : h(std::move(x)) {}
          void resume() override { std::move(h)(failure, std::move(r)); }
        };
        auto ex = asio::get_associated_executor(handler);
        // Watched (and so keeping the io_context running) until it comes back.
        auto queue = expect_resumption(ex);
        std::optional<decltype(asio::make_work_guard(ex))> work;
        if (!queue) work.emplace(ex);  // not an io_context: back through asio
        auto result = std::make_unique<done>(std::move(handler));
        pool.post([ex, queue = std::move(queue), work = std::move(work), result = std::move(result),
                   fn = std::move(fn)]() mutable {
          try {
            result->r.emplace(fn());
          } catch (...) {
            result->failure = std::current_exception();
          }
          if (queue) {
            queue->deliver(std::move(result));
            return;
          }
          asio::post(ex, [result = std::move(result), work = std::move(work)]() mutable {
            result->resume();
          });
        });
      },
      asio::use_awaitable, std::move(f));
}

template <class F, class R = std::invoke_result_t<F&>>
awaitable<R> run_on(work_pool& pool, F f) {
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

// Queues disk work that no session waits for (advisory state such as \Recent,
// whose loss costs nothing). `f` handles its own errors; an exception it
// throws anyway (std::bad_alloc) ends that task only.
template <class F>
void run_detached(F f) {
  blocking_pool().post([fn = std::move(f)]() mutable {
    try {
      fn();
    } catch (...) {
    }
  });
}

}  // namespace postern::net
