// COMPRESS=DEFLATE (RFC 4978) for one connection: raw DEFLATE both ways with
// zlib, the output flushed (Z_SYNC_FLUSH) at every write so a reply is never
// held back. The compressor uses a small window to keep the per-connection
// cost low (RFC 4978 §4 lets each side choose); the decompressor takes the
// full 32 KiB window any client may use.
//
// Threads: one codec per connection, used from its I/O thread only.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace postern::net {

class deflate_codec {
 public:
  deflate_codec();
  ~deflate_codec();
  deflate_codec(const deflate_codec&) = delete;
  deflate_codec& operator=(const deflate_codec&) = delete;
  bool ok() const;  // false when zlib could not set up (out of memory)

  // Compressed bytes from the client, to be inflated.
  void add_input(std::string_view compressed);
  bool has_input() const { return pending_ < input_.size(); }
  // Inflates pending input into [out, out + capacity); returns the bytes
  // produced (0: more input needed), or -1 for a corrupt stream.
  long inflate_into(char* out, size_t capacity);
  // Appends `data` compressed and flushed to `out`; false on a zlib failure.
  bool compress(std::string_view data, std::string& out);

 private:
  struct streams;
  std::unique_ptr<streams> z_;
  std::string input_;
  size_t pending_ = 0;  // first byte of input_ not yet inflated
};

}  // namespace postern::net
