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

message_builder::message_builder(store::store& mail, std::string_view prefix) : mail_(mail) {
  canonical_.feed(prefix, out_);
}

void message_builder::feed(std::string_view in) { canonical_.feed(in, out_); }

net::awaitable<void> message_builder::spool_if_full() {
  if (out_.size() >= spool_threshold) co_await spool_out();
}

// Moves the buffer to the spool file, creating it the first time, in one
// trip to the blocking pool.
net::awaitable<void> message_builder::spool_out() {
  if (!write_failed_ && !out_.empty()) {
    auto* spool = &r_.spool;
    bool create = !r_.spooled;
    std::string_view bytes = out_;
    auto& mail = mail_;
    auto write = [&mail, spool, create, bytes]() -> base::status {
      if (create) {
        auto made = mail.create_spool();
        if (!made) return made.err();
        *spool = std::move(*made);
      }
      return write_all(spool->fd, spool->path, bytes);
    };
    auto written = co_await net::run_blocking(std::move(write));
    r_.spooled = true;
    if (written) {
      r_.size += out_.size();
    } else {
      write_failed_ = true;
      r_.error = written.err();
    }
  }
  out_.clear();
}

received_message message_builder::abandon(received_message::kind what, uint64_t message_bytes) {
  r_.what = what;
  r_.message_bytes = message_bytes;
  r_.spool.discard();
  out_.clear();
  return std::move(r_);
}

net::awaitable<received_message> message_builder::finish(uint64_t message_bytes) {
  r_.message_bytes = message_bytes;
  canonical_.finish(out_);
  if (r_.spooled) co_await spool_out();
  if (write_failed_) {
    r_.what = received_message::kind::failed;
    r_.spool.discard();
    co_return std::move(r_);
  }
  if (!r_.spooled) {
    r_.size = out_.size();
    r_.memory = std::move(out_);
  }
  r_.dot_lines = canonical_.dot_lines();
  r_.what = received_message::kind::complete;
  co_return std::move(r_);
}

net::awaitable<received_message> receive_data(core::session_base& s, store::store& mail,
                                              std::string_view prefix, const data_limits& limits) {
  message_builder message(mail, prefix);
  proto::smtp::dot_decoder decoder(limits.max_size);
  auto started = net::connection::clock::now();
  while (!decoder.done()) {
    // The deadline grows with what arrived: timeout + bytes / min_data_rate.
    auto allowance = std::chrono::seconds(decoder.total() / std::max<uint64_t>(limits.min_rate, 1));
    auto deadline = started + limits.timeout + allowance;
    std::string_view chunk;
    auto st = co_await s.conn->read_some(chunk, deadline);
    if (st != net::read_status::ok)
      co_return message.abandon(st == net::read_status::timed_out ? received_message::kind::too_slow
                                                                  : received_message::kind::lost,
                                decoder.total());
    // Decoded straight into the output; canonicalised in place (no copy
    // for CRLF input).
    auto& out = message.buffer();
    size_t before = out.size();
    auto used = decoder.feed(chunk, out);
    if (used < chunk.size()) s.conn->unread(chunk.size() - used);
    message.fed_in_place(before);
    co_await message.spool_if_full();
  }
  if (decoder.over_limit())
    co_return message.abandon(received_message::kind::too_big, decoder.total());
  co_return co_await message.finish(decoder.total());
}

}  // namespace postern::session::smtp
