#include "session/smtp/data_receiver.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "net/blocking.hpp"
#include "proto/smtp/dot_decoder.hpp"
#include "store/canonical.hpp"

namespace postern::session::smtp {

namespace {

// Canonical bytes are written out in pieces of this size.
constexpr size_t write_at = 256 * 1024;

base::status write_all(int fd, const std::string& path, std::string_view bytes) {
  while (!bytes.empty()) {
    auto n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      return base::error{
          err == ENOSPC || err == EDQUOT ? base::errc::disk_full : base::errc::io_error,
          fmt::format("cannot write spool file {}: {}", path, std::strerror(err)),
          std::strerror(err)};
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return base::ok_status();
}

}  // namespace

net::awaitable<received_message> receive_data(core::session_base& s, store::store& mail,
                                              std::string_view prefix, const data_limits& limits) {
  received_message r;
  bool write_failed = false;
  proto::smtp::dot_decoder decoder(limits.max_size);
  store::canonical_stream canonical;
  std::string out;
  canonical.feed(prefix, out);
  // Moves `out` to the spool file, creating it the first time, in one trip
  // to the blocking pool.
  auto spool_out = [&]() -> net::awaitable<void> {
    if (!write_failed && !out.empty()) {
      auto* spool = &r.spool;
      bool create = !r.spooled;
      std::string_view bytes = out;
      auto write = [&mail, spool, create, bytes]() -> base::status {
        if (create) {
          auto made = mail.create_spool();
          if (!made) return made.err();
          *spool = std::move(*made);
        }
        return write_all(spool->fd, spool->path, bytes);
      };
      auto written = co_await net::run_blocking(std::move(write));
      r.spooled = true;
      if (written) {
        r.size += out.size();
      } else {
        write_failed = true;
        r.error = written.err();
      }
    }
    out.clear();
  };

  auto started = net::connection::clock::now();
  while (!decoder.done()) {
    // The deadline grows with what arrived: timeout + bytes / min_data_rate.
    auto allowance = std::chrono::seconds(decoder.total() / std::max<uint64_t>(limits.min_rate, 1));
    auto deadline = started + limits.timeout + allowance;
    std::string_view chunk;
    auto st = co_await s.conn->read_some(chunk, deadline);
    if (st != net::read_status::ok) {
      r.message_bytes = decoder.total();
      r.what = st == net::read_status::timed_out ? received_message::kind::too_slow
                                                 : received_message::kind::lost;
      r.spool.discard();
      co_return r;
    }
    // Decoded straight into the output; canonicalised in place (no copy
    // for CRLF input).
    size_t before = out.size();
    auto used = decoder.feed(chunk, out);
    if (used < chunk.size()) s.conn->unread(chunk.size() - used);
    canonical.feed_in_place(out, before);
    if (out.size() >= spool_threshold) co_await spool_out();
  }
  r.message_bytes = decoder.total();
  if (decoder.over_limit()) {
    r.what = received_message::kind::too_big;
    r.spool.discard();
    co_return r;
  }
  canonical.finish(out);
  if (r.spooled) co_await spool_out();
  if (write_failed) {
    r.what = received_message::kind::failed;
    r.spool.discard();
    co_return r;
  }
  if (!r.spooled) {
    r.size = out.size();
    r.memory = std::move(out);
  }
  r.dot_lines = canonical.dot_lines();
  r.what = received_message::kind::complete;
  co_return r;
}

}  // namespace postern::session::smtp
