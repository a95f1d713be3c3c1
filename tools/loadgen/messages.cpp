#include "messages.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace loadgen {

namespace fs = std::filesystem;

namespace {

// A plain message of about `size` octets whose body is base64-like lines.
std::string generate(std::uint64_t size, int index) {
  std::string text = fmt::format(
      "From: Load Generator <loadgen@example.test>\r\n"
      "To: recipient@example.test\r\n"
      "Subject: generated message {}\r\n"
      "Message-ID: <gen-{}@loadgen.example.test>\r\n"
      "Date: Mon, 01 Jan 2024 00:00:00 +0000\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: application/octet-stream\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n",
      index, index);
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::uint32_t state = 2463534242u + index;
  while (text.size() + 78 <= size) {
    for (int i = 0; i < 76; ++i) {
      state ^= state << 13, state ^= state >> 17, state ^= state << 5;  // xorshift32
      text += alphabet[state % 64];
    }
    text += "\r\n";
  }
  return text;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

message to_wire(const std::string& text) {
  message m{{}, 0};
  m.wire.reserve(text.size() + text.size() / 50 + 2);
  bool line_start = true;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (line_start && ch == '.') m.wire += '.';
    if (ch == '\n' && (i == 0 || text[i - 1] != '\r')) {
      m.wire += "\r\n";
      ++m.size;
    } else {
      m.wire += ch;
    }
    ++m.size;
    line_start = ch == '\n';
  }
  if (!line_start) {
    m.wire += "\r\n";
    m.size += 2;
  }
  return m;
}

std::vector<message> load_messages(const options& opt) {
  std::vector<message> out;
  if (opt.message_dir.empty()) {
    for (int i = 0; i < 16; ++i) out.push_back(to_wire(generate(opt.message_size, i)));
    return out;
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(opt.message_dir)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) throw std::runtime_error("no message files in " + opt.message_dir);
  for (const auto& f : files) out.push_back(to_wire(read_file(f)));
  return out;
}

}  // namespace loadgen
