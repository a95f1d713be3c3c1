#include "net/resume_queue.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace postern::net::detail {

resume_queue::resume_queue() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (fd_ < 0)
    throw std::runtime_error(std::string("eventfd for the I/O thread's resume queue: ") +
                             std::strerror(errno));
}

resume_queue::~resume_queue() {
  // Anything still listed arrived after close(): left alone, as in deliver().
  ::close(fd_);
}

void resume_queue::deliver(std::unique_ptr<resumption> r) {
  if (closed_.load(std::memory_order_acquire)) {
    // Its io_context and the sessions it would resume are gone; destroying
    // the handler could touch them, so it is left alone (this happens only
    // as the process exits).
    (void)r.release();
    return;
  }
  auto* node = r.release();
  auto* old = head_.load(std::memory_order_relaxed);
  do {
    node->next = old;
  } while (!head_.compare_exchange_weak(old, node, std::memory_order_release,
                                        std::memory_order_relaxed));
  // Only the push onto an empty list wakes the I/O thread: a non-empty list
  // means a wake-up is already on its way (take_all reads the eventfd first).
  if (!old) {
    uint64_t one = 1;
    while (::write(fd_, &one, sizeof one) < 0 && errno == EINTR) {
    }
  }
}

resumption* resume_queue::take_all() {
  uint64_t count;
  while (::read(fd_, &count, sizeof count) < 0 && errno == EINTR) {
  }
  auto* r = head_.exchange(nullptr, std::memory_order_acquire);
  resumption* ordered = nullptr;  // the list is newest first
  while (r) {
    auto* next = r->next;
    r->next = ordered;
    ordered = r;
    r = next;
  }
  return ordered;
}

void resume_queue::close() { closed_.store(true, std::memory_order_release); }

namespace {

// Per io_context: watches the queue's eventfd while work is out in a pool.
class resume_service final : public asio::execution_context::service {
 public:
  static asio::execution_context::id id;

  // Made only by expect_resumption, always for an io_context.
  explicit resume_service(asio::execution_context& ctx)
      : service(ctx),
        queue_(std::make_shared<resume_queue>()),
        watch_(static_cast<asio::io_context&>(ctx), watched_copy(queue_->fd())) {}

  std::shared_ptr<resume_queue> expect() {
    ++outstanding_;
    arm();
    return queue_;
  }

 private:
  // The io_context is being destroyed: like its own pending handlers, the
  // finished work nobody resumed is destroyed here, while the context lives.
  void shutdown() override {
    queue_->close();
    for (auto* r = queue_->take_all(); r;) {
      auto* next = r->next;
      delete r;
      r = next;
    }
    error_code ignored;
    watch_.close(ignored);
  }

  // The descriptor closes its own copy; the queue keeps the original open
  // for pool threads that still deliver while the context shuts down.
  static int watched_copy(int fd) {
    int copy = ::dup(fd);
    if (copy < 0)
      throw std::runtime_error(std::string("dup of the resume queue's eventfd: ") +
                               std::strerror(errno));
    return copy;
  }

  void arm() {
    if (armed_ || outstanding_ == 0) return;
    armed_ = true;
    watch_.async_wait(asio::posix::descriptor_base::wait_read,
                      [this](const error_code& ec) { on_ready(ec); });
  }

  void on_ready(const error_code& ec) {
    armed_ = false;
    if (ec) return;  // closed: the io_context is shutting down
    for (auto* r = queue_->take_all(); r;) {
      std::unique_ptr<resumption> own(r);
      r = r->next;
      --outstanding_;
      own->resume();  // may hand out more work, and arm again
    }
    arm();
  }

  std::shared_ptr<resume_queue> queue_;
  asio::posix::stream_descriptor watch_;
  size_t outstanding_ = 0;  // handed out and not yet resumed
  bool armed_ = false;
};

asio::execution_context::id resume_service::id;

}  // namespace

std::shared_ptr<resume_queue> expect_resumption(const asio::any_io_executor& ex) {
  auto* io = ex.target<asio::io_context::executor_type>();
  if (!io) return nullptr;
  // The registry's lock is the I/O thread's own: only it calls this.
  return asio::use_service<resume_service>(io->context()).expect();
}

}  // namespace postern::net::detail
