#include "session/testing/session_harness.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "db/sqlite.hpp"
#include "directory/password.hpp"

namespace postern::session::testing {

script_client::~script_client() { close(); }

void script_client::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void script_client::send(std::string_view bytes) {
  while (!bytes.empty()) {
    auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return;  // the server closed: the script's next read says so
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

bool script_client::fill() {
  char tmp[65536];
  if (eof_) return false;
  auto n = ::recv(fd_, tmp, sizeof tmp, 0);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  buf_.append(tmp, static_cast<size_t>(n));
  return true;
}

std::string script_client::line() {
  for (;;) {
    auto pos = buf_.find("\r\n");
    if (pos != std::string::npos) {
      auto l = buf_.substr(0, pos);
      buf_.erase(0, pos + 2);
      return l;
    }
    if (!fill()) return "";
  }
}

std::string script_client::multiline() {
  std::string out;
  for (;;) {
    auto l = line();
    if (l == "." || (l.empty() && eof_)) return out;
    if (l.starts_with("..")) l.erase(0, 1);
    out += l + "\r\n";
  }
}

std::string script_client::read_exactly(size_t n) {
  while (buf_.size() < n)
    if (!fill()) break;
  auto out = buf_.substr(0, n);
  buf_.erase(0, out.size());
  return out;
}

bool script_client::at_eof() {
  while (fill()) {
  }
  return true;
}

session_harness::session_harness(std::string protocol) : protocol_(std::move(protocol)) {
  static std::atomic<int> counter{0};
  data_dir_ = (std::filesystem::temp_directory_path() /
               ("postern-session-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
                  .string();
  std::filesystem::remove_all(data_dir_);
  auto d = directory::open_sqlite_directory(data_dir_, true);
  if (!d) throw std::runtime_error(d.err().message);
  dir_ = std::move(*d);
  store_ = store::make_sqlite_store(data_dir_);
  settings_ = std::make_unique<directory::live_settings>(*dir_);
  services_.reset(new services{*dir_, *store_, *settings_, credentials_, registry_, defence_,
                               users_, "mail.test", 0});
}

session_harness::~session_harness() {
  services_.reset();
  settings_.reset();
  store_.reset();
  dir_.reset();
  // Work no session waits for (net::run_detached: a \Recent save) may still
  // hold the mailbox and close its index meanwhile, removing its -shm and
  // -wal files under remove_all: try again rather than throw.
  for (int attempt = 0; attempt < 50; ++attempt) {
    std::error_code ec;
    std::filesystem::remove_all(data_dir_, ec);
    if (!ec && !std::filesystem::exists(data_dir_, ec)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void session_harness::add_user(const std::string& address, const std::string& password) {
  auto h = directory::hash_password(password);
  if (!h || !dir_->add_user(address, *h)) throw std::runtime_error("cannot add " + address);
}

void session_harness::set(const std::string& key, const std::string& value) {
  if (!dir_->set_setting(protocol_, key, value)) throw std::runtime_error("bad setting " + key);
}

void session_harness::set_unchecked(const std::string& key, const std::string& value) {
  auto db = db::database::open(data_dir_ + "/directory.sqlite", false);
  if (!db) throw std::runtime_error(db.err().message);
  auto st = db->prepare(
      "INSERT INTO settings(protocol, key, value) VALUES(?, ?, ?)"
      " ON CONFLICT(protocol, key) DO UPDATE SET value = excluded.value");
  if (!st) throw std::runtime_error(st.err().message);
  st->bind(1, protocol_).bind(2, key).bind(3, value);
  if (st->step() != db::step_result::done) throw std::runtime_error("storing " + key);
}

size_t session_harness::stored_count(const std::string& address) {
  auto user = dir_->find_user(address);
  if (!user) throw std::runtime_error(user.err().message);
  auto mb = store_->open(user->id);
  if (!mb) throw std::runtime_error(mb.err().message);
  return (*mb)->list("INBOX")->size();
}

void session_harness::inject_store_faults(uint32_t fail_at, store::testing::fault_kind kind) {
  faulty_ = std::make_unique<store::testing::faulty_store>(*store_, fail_at, kind);
  services_.reset(new services{*dir_, *faulty_, *settings_, credentials_, registry_, defence_,
                               users_, "mail.test", 0});
}

void session_harness::inject_directory_faults(uint32_t fail_lookup_at) {
  faulty_dir_ = std::make_unique<directory::testing::faulty_directory>(*dir_, fail_lookup_at);
  services_.reset(new services{*faulty_dir_, faulty_ ? *faulty_ : *store_, *settings_, credentials_,
                               registry_, defence_, users_, "mail.test", 0});
}

void session_harness::inject_connection_faults(uint32_t fail_read_at, uint32_t fail_write_at) {
  fail_read_at_ = fail_read_at;
  fail_write_at_ = fail_write_at;
}

void session_harness::run(const session_fn& session,
                          const std::function<void(script_client&)>& client_script) {
  net::asio::io_context io(1);
  net::tcp::acceptor acceptor(io, net::tcp::endpoint(net::asio::ip::make_address("127.0.0.1"), 0));
  auto port = acceptor.local_endpoint().port();

  std::thread client([&] {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      return;
    }
    script_client c(fd);
    client_script(c);
  });

  net::tcp::socket socket(io);
  acceptor.accept(socket);
  net::listener_spec spec{protocol_, "127.0.0.1", port, net::tls_mode::none, "test"};
  auto conn = std::make_shared<net::connection>(std::move(socket), nullptr);
  conn->inject_faults(fail_read_at_, fail_write_at_);
  escaped_.clear();
  net::asio::co_spawn(
      io,
      [&, conn]() -> net::awaitable<void> {
        conn->start();
        try {
          co_await session(*services_, conn, spec);
        } catch (const std::exception& e) {
          escaped_ = e.what();  // what net::server would log; the test decides
        }
        conn->close();
      },
      net::asio::detached);
  io.run();
  client.join();
}

}  // namespace postern::session::testing
