// Lets a session coroutine wait for its mailbox to change (a delivery, an
// expunge by another session of any protocol): the building block of IMAP
// IDLE and of pending EXISTS/EXPUNGE responses.
//
// Threads: call from a coroutine on a single-threaded io_context (as every
// session runs in net::server); the notifier may fire from any thread.
#pragma once

#include <chrono>
#include <cstdint>

#include "net/asio.hpp"
#include "store/notifier.hpp"

namespace postern::session {

// Completes when the notifier's version differs from `seen` or after
// `timeout`; returns the version then current.
net::awaitable<uint64_t> wait_for_change(store::notifier& changes, uint64_t seen,
                                         std::chrono::steady_clock::duration timeout);

}  // namespace postern::session
