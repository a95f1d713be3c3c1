// One client connection: plain or TLS (implicit or after STARTTLS), a reader
// for lines, raw chunks and resumable frames (IMAP literals), buffered
// writes, zero-copy file sending, and a watchdog that closes the connection
// when an operation outlives its deadline.
//
// Deadlines bound whole operations, never single reads (STYLE: "a deadline
// bounds a whole command"): read_line() and read_frame() arm once when they
// start waiting, write() once per call, and a phase deadline (the pre-login
// phase, counted from accept) caps every operation. A client trickling one
// byte a second is closed on time.
//
// Memory: the input buffer starts small and grows only while a command needs
// it (up to the caller's cap); release_buffer() returns it to its idle size.
//
// Threads: a connection belongs to one io_context (one thread); use it only
// from coroutines running there. interrupt() may be called from that thread
// only (post to executor() from elsewhere). Ownership: shared_ptr, kept alive
// by the session coroutine and the watchdog.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "net/asio.hpp"
#include "net/deflate_codec.hpp"

namespace postern::net {

class tls_stream;

enum class read_status { ok, too_long, closed, timed_out, error, interrupted };

// What a resumable frame scanner says about the bytes buffered so far (the
// current frame always starts at the first byte given to it).
struct frame_step {
  enum class kind { need_more, complete, continuation, too_long } what = kind::need_more;
  size_t length = 0;  // complete: bytes of the frame
};

class connection : public std::enable_shared_from_this<connection> {
 public:
  using clock = std::chrono::steady_clock;

  connection(tcp::socket socket, std::shared_ptr<asio::ssl::context> tls);
  ~connection();

  // Starts the watchdog; call once before any I/O.
  void start();
  asio::any_io_executor executor() { return socket_.get_executor(); }

  // Server-side TLS handshake (implicit TLS at accept, or after STLS/STARTTLS),
  // bounded by the timeout and the phase deadline. Drops bytes the client sent
  // before the handshake (RFC 3207 §4.2 / CVE-2011-0411). On failure
  // tls_failure() says why, for the log.
  awaitable<bool> start_tls();
  bool tls_active() const { return tls_active_; }
  // "TLSv1.3 TLS_AES_256_GCM_SHA384" once TLS is up, else empty.
  std::string tls_description() const;
  // The client certificate's subject when the client sent one that chains to
  // the listener's client_ca (the admin API's second way in); else empty.
  std::string verified_client_certificate() const;
  // The subject of a client certificate that does not chain to client_ca,
  // for the refusal's words; else empty.
  std::string unverified_client_certificate() const;
  bool tls_available() const { return tls_ctx_ != nullptr; }
  const std::string& tls_failure() const { return tls_failure_; }
  const std::string& remote_ip() const { return remote_ip_; }
  uint16_t local_port() const { return local_port_; }
  uint16_t remote_port() const { return remote_port_; }
  const std::string& local_ip() const { return local_ip_; }

  // Each later operation must finish within `d` of its start.
  void set_timeout(clock::duration d) {
    timeout_ = d;
    wake_if_sooner(clock::now() + d);
  }
  clock::duration timeout() const { return timeout_; }
  // No operation may outlive `t` (the pre-login phase); clear_phase_deadline()
  // lifts it after login.
  void set_phase_deadline(clock::time_point t) {
    phase_deadline_ = t;
    wake_if_sooner(t);
  }
  void clear_phase_deadline() { phase_deadline_ = clock::time_point::max(); }
  bool timed_out() const { return timed_out_; }

  // Reads one line (LF-terminated; the CR LF or LF is stripped) that must
  // arrive whole within the timeout. A line longer than max_size bytes
  // (terminator included) is discarded up to its LF and reported as too_long.
  awaitable<read_status> read_line(std::string& line, size_t max_size);
  // True when a whole line is already buffered: the client pipelined, so the
  // caller may hold its responses and flush them together.
  bool has_buffered_line() const;
  bool has_buffered_input() const { return in_begin_ != in_end_; }
  // Returns buffered bytes or reads more, waiting no later than `deadline`
  // (capped by the phase deadline); `chunk` is valid until the next read.
  awaitable<read_status> read_some(std::string_view& chunk, clock::time_point deadline);
  // Puts back the tail of a chunk from read_some that belongs to the next command.
  void unread(size_t n) { in_begin_ -= n; }

  // Reads one frame of a protocol whose commands may span several reads (IMAP
  // literals): `scan` is called with every byte of the frame buffered so far
  // and resumes where it stopped; on `continuation` the caller's
  // `on_continuation` sends "+ ..." before reading on. The frame (at most
  // max_size bytes) lands in `out`. A too_long frame is reported at once; the
  // caller decides how to skip it.
  awaitable<read_status> read_frame(const std::function<frame_step(std::string_view)>& scan,
                                    const std::function<awaitable<bool>()>& on_continuation,
                                    std::string& out, size_t max_size);

  // Shrinks the input buffer back to its idle size when nothing is buffered.
  void release_buffer();
  size_t buffer_capacity() const { return in_cap_; }

  // `more`: the caller sends more right after (a file follows a header), so
  // the kernel may hold a partial segment instead of pushing it (MSG_MORE).
  awaitable<bool> write(std::string_view data, bool more = false);
  // A write while a read is waiting (IMAP IDLE's untagged updates): it leaves
  // that read's deadline alone, and a client that stops reading is closed by
  // it.
  awaitable<bool> write_beside_read(std::string_view data);
  // COMPRESS=DEFLATE (RFC 4978) from now on, both ways: call right after the
  // "OK" was written. Bytes already buffered are compressed input. False when
  // zlib cannot start.
  bool start_compression();
  bool compression_active() const { return z_ != nullptr; }
  // Sends a file range without copying it through user space (plaintext,
  // uncompressed only).
  awaitable<bool> send_file(int fd, uint64_t offset, uint64_t length);

  // Graceful shutdown: a read waiting for the client's next command returns
  // `interrupted` at once; any other operation finishes first and the session
  // sees interrupted() afterwards.
  void interrupt();
  bool interrupted() const { return interrupted_; }
  // The session marks the time it waits for a new command (nothing half-read).
  void set_idle(bool idle) { idle_ = idle; }

  void close();
  bool is_closed() const { return closed_; }

  // Fault injection for tests: the Nth read (fill from the socket) or write
  // (write or send_file call) from now fails as if the peer had reset the
  // connection; 0 = never. Costs one compare per operation when unused.
  void inject_faults(uint32_t fail_read_at, uint32_t fail_write_at) {
    fail_read_at_ = fail_read_at;
    fail_write_at_ = fail_write_at;
  }

  // Bytes received and sent so far (the per-command observer takes differences).
  uint64_t bytes_in() const { return bytes_in_; }
  uint64_t bytes_out() const { return bytes_out_; }
  // Time spent so far waiting for the client: for its bytes to arrive or for
  // room in the socket to send. A command's server time (what throttling
  // budgets charge) is its duration minus what this grew by.
  clock::duration io_wait() const { return io_wait_; }

 private:
  awaitable<void> watchdog();
  awaitable<read_status> fill(size_t want_capacity);
  void arm(clock::time_point deadline);
  // The watchdog's timer must fire no later than `t`.
  void wake_if_sooner(clock::time_point t) {
    if (t < timer_expiry_) timer_.cancel();
  }
  void arm_for_operation() { arm(clock::now() + timeout_); }
  void disarm() { deadline_ = clock::time_point::max(); }
  void compact();
  void grow(size_t capacity);

  tcp::socket socket_;
  // Created only on the TLS handshake, so a plaintext session carries no SSL state.
  std::unique_ptr<tls_stream> tls_;
  std::shared_ptr<asio::ssl::context> tls_ctx_;
  asio::steady_timer timer_;
  clock::duration timeout_ = std::chrono::seconds(60);
  clock::time_point deadline_ = clock::time_point::max();
  clock::time_point timer_expiry_ = clock::time_point::max();
  clock::time_point phase_deadline_ = clock::time_point::max();
  std::unique_ptr<deflate_codec> z_;  // only after COMPRESS
  std::unique_ptr<char[]> in_;
  size_t in_cap_ = 0;
  size_t in_begin_ = 0, in_end_ = 0;
  uint64_t bytes_in_ = 0, bytes_out_ = 0;
  clock::duration io_wait_{};
  uint32_t fail_read_at_ = 0, fail_write_at_ = 0, reads_ = 0, writes_ = 0;
  bool injected_failure(uint32_t at, uint32_t& count) {
    if (at == 0 || ++count != at) return false;
    close();
    return true;
  }
  std::string remote_ip_;
  std::string tls_failure_;
  std::string local_ip_;
  uint16_t local_port_ = 0;
  uint16_t remote_port_ = 0;
  bool tls_active_ = false;
  bool timed_out_ = false;
  bool closed_ = false;
  bool interrupted_ = false;
  bool idle_ = false;
  bool reading_ = false;
  bool native_non_blocking_ = false;  // set once, on the first send_file
};

}  // namespace postern::net
