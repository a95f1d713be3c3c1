#include "net/deflate_codec.hpp"

#include <zlib.h>

namespace postern::net {

struct deflate_codec::streams {
  z_stream in{};
  z_stream out{};
  bool in_ok = false, out_ok = false;
  ~streams() {
    if (in_ok) inflateEnd(&in);
    if (out_ok) deflateEnd(&out);
  }
};

deflate_codec::deflate_codec() : z_(std::make_unique<streams>()) {
  // Negative window bits: raw DEFLATE, no zlib header (RFC 4978 §4).
  z_->in_ok = inflateInit2(&z_->in, -15) == Z_OK;
  // A 2 KiB window and memLevel 5: about 12 KiB per connection instead of
  // zlib's default 256 KiB, at a small cost in ratio.
  z_->out_ok =
      deflateInit2(&z_->out, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -11, 5, Z_DEFAULT_STRATEGY) == Z_OK;
}

deflate_codec::~deflate_codec() = default;

bool deflate_codec::ok() const { return z_->in_ok && z_->out_ok; }

void deflate_codec::add_input(std::string_view compressed) {
  if (pending_ == input_.size()) {
    input_.clear();
    pending_ = 0;
  }
  input_.append(compressed);
}

long deflate_codec::inflate_into(char* out, size_t capacity) {
  auto& s = z_->in;
  s.next_in = reinterpret_cast<Bytef*>(input_.data() + pending_);
  s.avail_in = static_cast<uInt>(input_.size() - pending_);
  s.next_out = reinterpret_cast<Bytef*>(out);
  s.avail_out = static_cast<uInt>(capacity);
  int r = inflate(&s, Z_SYNC_FLUSH);
  pending_ = input_.size() - s.avail_in;
  if (r != Z_OK && r != Z_BUF_ERROR && r != Z_STREAM_END) return -1;
  return static_cast<long>(capacity - s.avail_out);
}

bool deflate_codec::compress(std::string_view data, std::string& out) {
  auto& s = z_->out;
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  s.avail_in = static_cast<uInt>(data.size());
  for (;;) {
    char buf[16384];
    s.next_out = reinterpret_cast<Bytef*>(buf);
    s.avail_out = sizeof buf;
    int r = deflate(&s, Z_SYNC_FLUSH);
    if (r != Z_OK && r != Z_BUF_ERROR) return false;
    out.append(buf, sizeof buf - s.avail_out);
    if (s.avail_in == 0 && s.avail_out != 0) return true;
  }
}

}  // namespace postern::net
