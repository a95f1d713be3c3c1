// net::connection over real loopback sockets: deadlines bound a whole line
// however it trickles, the buffer grows for a long command and shrinks back,
// and read_frame serves an IMAP command whose literal needs a continuation.
#include "net/connection.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <thread>

#include "proto/imap/command_framer.hpp"

namespace postern::net {

namespace {

// Runs `server` on a connection accepted from a client that runs `client`
// (blocking socket calls on its own thread) and waits for both.
void over_loopback(const std::function<awaitable<void>(std::shared_ptr<connection>)>& server,
                   const std::function<void(int fd)>& client) {
  asio::io_context io(1);
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto port = acceptor.local_endpoint().port();
  std::thread peer([&] {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) client(fd);
    ::close(fd);
  });
  tcp::socket s(io);
  acceptor.accept(s);
  auto conn = std::make_shared<connection>(std::move(s), nullptr);
  asio::co_spawn(
      io,
      [&, conn]() -> awaitable<void> {
        conn->start();
        co_await server(conn);
        conn->close();
      },
      asio::detached);
  io.run();
  peer.join();
}

void send_all(int fd, std::string_view s) { ::send(fd, s.data(), s.size(), MSG_NOSIGNAL); }

std::string read_some_text(int fd) {
  char buf[256];
  auto n = ::recv(fd, buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

}  // namespace

TEST(Connection, ALineTrickledByteByByteTimesOutAsAWhole) {
  read_status st = read_status::ok;
  auto started = std::chrono::steady_clock::now();
  std::chrono::steady_clock::duration took{};
  over_loopback(
      [&](std::shared_ptr<connection> c) -> awaitable<void> {
        c->set_timeout(std::chrono::milliseconds(300));
        std::string line;
        st = co_await c->read_line(line, 512);
        took = std::chrono::steady_clock::now() - started;
      },
      [](int fd) {
        // One byte every 20 ms: every read is recent, the line never ends.
        for (int i = 0; i < 60; ++i) {
          if (::send(fd, "x", 1, MSG_NOSIGNAL) <= 0) return;
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      });
  EXPECT_EQ(st, read_status::timed_out);
  EXPECT_LT(took, std::chrono::milliseconds(800));
}

TEST(Connection, ThePhaseDeadlineCapsEveryOperation) {
  int lines = 0;
  read_status last = read_status::ok;
  over_loopback(
      [&](std::shared_ptr<connection> c) -> awaitable<void> {
        c->set_timeout(std::chrono::seconds(10));
        c->set_phase_deadline(connection::clock::now() + std::chrono::milliseconds(300));
        std::string line;
        for (;;) {
          last = co_await c->read_line(line, 512);
          if (last != read_status::ok) break;
          ++lines;
        }
      },
      [](int fd) {
        // Whole commands, each well within the timeout, for longer than the phase.
        for (int i = 0; i < 40; ++i) {
          if (::send(fd, "NOOP\r\n", 6, MSG_NOSIGNAL) <= 0) return;
          std::this_thread::sleep_for(std::chrono::milliseconds(25));
        }
      });
  EXPECT_EQ(last, read_status::timed_out);
  EXPECT_GT(lines, 3);
  EXPECT_LT(lines, 30);
}

TEST(Connection, TheBufferGrowsForALongLineAndShrinksBack) {
  size_t during = 0, after = 0;
  std::string got;
  over_loopback(
      [&](std::shared_ptr<connection> c) -> awaitable<void> {
        std::string line;
        auto st = co_await c->read_line(line, 64 * 1024);
        EXPECT_EQ(st, read_status::ok);
        got = line;
        during = c->buffer_capacity();
        c->release_buffer();
        after = c->buffer_capacity();
      },
      [](int fd) { send_all(fd, std::string(20000, 'a') + "\r\n"); });
  EXPECT_EQ(got.size(), 20000u);
  EXPECT_GE(during, 20000u);
  EXPECT_LE(after, 1024u);
}

TEST(Connection, ReadFrameServesAnImapLiteralWithAContinuation) {
  std::string frame;
  int continuations = 0;
  std::string client_saw;
  over_loopback(
      [&](std::shared_ptr<connection> c) -> awaitable<void> {
        proto::imap::command_framer framer(64 * 1024, 64 * 1024);
        auto scan = [&](std::string_view b) {
          auto f = framer.scan(b);
          using k = proto::imap::frame::kind;
          if (f.what == k::complete) return frame_step{frame_step::kind::complete, f.length};
          if (f.what == k::continuation) return frame_step{frame_step::kind::continuation, 0};
          if (f.what == k::need_more) return frame_step{};
          return frame_step{frame_step::kind::too_long, 0};
        };
        auto go_ahead = [&]() -> awaitable<bool> {
          ++continuations;
          bool ok = co_await c->write("+ Ready for literal data\r\n");
          co_return ok;
        };
        auto st = co_await c->read_frame(scan, go_ahead, frame, 64 * 1024);
        EXPECT_EQ(st, read_status::ok);
      },
      [&](int fd) {
        // The literal's announcement, then its bytes only after "+", in pieces.
        send_all(fd, "a1 LOGIN {3}");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        send_all(fd, "\r\n");
        client_saw = read_some_text(fd);
        send_all(fd, "j");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        send_all(fd, "oe pw\r\n");
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      });
  EXPECT_EQ(continuations, 1);
  EXPECT_EQ(client_saw, "+ Ready for literal data\r\n");
  EXPECT_EQ(frame, "a1 LOGIN {3}\r\njoe pw\r\n");
}

}  // namespace postern::net
