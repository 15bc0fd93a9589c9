#include "actors/shared/deflate.hpp"

#include <libdeflate.h>
#include <zlib.h>

#include <algorithm>
#include <climits>
#include <memory>
#include <stdexcept>

namespace logpipe {

namespace {

/// zlib counts in uInt; feed larger buffers in pieces of at most this.
constexpr std::size_t max_chunk = UINT_MAX;

Bytef* as_bytes(char* p) {
  return reinterpret_cast<Bytef*>(p);
}

Bytef* as_bytes(const char* p) {
  // zlib's next_in is not const-qualified (without ZLIB_CONST) but is only read.
  return reinterpret_cast<Bytef*>(const_cast<char*>(p));
}

} // namespace

// libdeflate compresses whole buffers two to three times as fast as zlib
// at the same level and ratio, and writes the same format: a zlib header
// (78 01 / 78 5e / 78 9c / 78 da by level, as zlib), the deflate data and a
// complete Adler-32 trailer, which zlib and logpipe 1.x inflate.
void deflate_block(const char* data, std::size_t size, int level, std::vector<char>& out) {
  if (level < -1 || level > 9)
    throw std::runtime_error("deflate: invalid compression level "
                             + std::to_string(level) + " (expected -1 to 9)");
  if (level == default_compress_level)
    level = 6; // zlib's default
  // A compressor holds its level's tables (up to ~700 KiB): one per level and
  // thread, made once, rather than one per block.
  struct compressor_deleter {
    void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
  };
  thread_local std::unique_ptr<libdeflate_compressor, compressor_deleter> compressors[10];
  auto& compressor = compressors[level];
  if (!compressor) {
    compressor.reset(libdeflate_alloc_compressor(level));
    if (!compressor)
      throw std::runtime_error("deflate: out of memory for a level " + std::to_string(level)
                               + " compressor");
  }
  out.resize(libdeflate_zlib_compress_bound(compressor.get(), size));
  auto written = libdeflate_zlib_compress(compressor.get(), data, size, out.data(), out.size());
  if (written == 0) // cannot happen within the bound
    throw std::runtime_error("deflate: output larger than its bound");
  out.resize(written);
  // The block keeps this buffer while it travels (and while an output keeps
  // it to send again): give back what the bound reserved beyond the
  // compressed size, often three quarters of it for log text.
  out.shrink_to_fit();
}

namespace {

/// Most room libdeflate is given for one block's output; a block that
/// inflates to more (never a 1.x or logpipe block) is left to zlib.
constexpr std::size_t max_libdeflate_output = 64 << 20;

// Inflates raw deflate data with zlib, appending to `out`: the slow path,
// which also says where a broken stream breaks.
bool inflate_raw_with_zlib(const char* in, std::size_t in_left, std::vector<char>& out,
                           std::string& error) {
  const std::size_t original_size = out.size();
  auto fail = [&](std::string why) {
    out.resize(original_size);
    error = "inflate: " + std::move(why);
    return false;
  };
  const std::size_t size = in_left + 2; // the whole stream's, as errors count it
  z_stream zs{};
  int rc = inflateInit2(&zs, -15); // raw deflate: any window up to 32 KiB
  if (rc != Z_OK)
    return fail(std::string("cannot initialize zlib: ") + (zs.msg ? zs.msg : zError(rc)));
  // Compressed log data usually inflates 3 to 10 times; the buffer doubles as
  // needed.
  std::size_t chunk = std::max<std::size_t>(size * 4, 16384);
  std::size_t out_done = original_size;
  for (;;) {
    if (zs.avail_in == 0 && in_left > 0) {
      const std::size_t n = std::min(in_left, max_chunk);
      zs.next_in = as_bytes(in);
      zs.avail_in = static_cast<uInt>(n);
      in += n;
      in_left -= n;
    }
    if (out_done == out.size()) {
      out.resize(out.size() + chunk);
      chunk = std::min(chunk * 2, max_chunk);
    }
    const std::size_t room = std::min(out.size() - out_done, max_chunk);
    zs.next_out = as_bytes(out.data() + out_done);
    zs.avail_out = static_cast<uInt>(room);
    rc = inflate(&zs, Z_NO_FLUSH);
    out_done += room - zs.avail_out;
    if (rc == Z_STREAM_END)
      break;
    if (rc == Z_OK || rc == Z_BUF_ERROR) {
      if (zs.avail_out > 0 && zs.avail_in == 0 && in_left == 0) {
        const auto inflated = out_done - original_size;
        inflateEnd(&zs);
        return fail("zlib stream truncated inside its compressed data (after "
                    + std::to_string(size) + " bytes, " + std::to_string(inflated)
                    + " bytes inflated)");
      }
      continue;
    }
    std::string why = zs.msg ? zs.msg : zError(rc);
    inflateEnd(&zs);
    return fail("corrupt zlib stream: " + why);
  }
  const std::size_t trailing = zs.avail_in + in_left;
  inflateEnd(&zs);
  // What follows the deflate data is the Adler-32 trailer, complete or not,
  // and it is not checked; anything beyond it is not part of the stream.
  if (trailing > 4)
    return fail(std::to_string(trailing - 4)
                + " unexpected bytes after the end of the zlib stream");
  out.resize(out_done);
  return true;
}

// Inflates raw deflate data with libdeflate (about twice zlib's speed),
// appending to `out`. libdeflate needs room for the whole output: the room
// doubles until it fits. False, with `out` as it was, if libdeflate cannot.
bool inflate_raw_with_libdeflate(const char* in, std::size_t size, std::vector<char>& out) {
  struct decompressor_deleter {
    void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
  };
  thread_local std::unique_ptr<libdeflate_decompressor, decompressor_deleter> decompressor{
    libdeflate_alloc_decompressor()};
  if (!decompressor)
    return false;
  const std::size_t original_size = out.size();
  for (std::size_t room = std::max<std::size_t>(size * 8, 128 * 1024);
       room <= max_libdeflate_output; room *= 2) {
    out.resize(original_size + room);
    std::size_t used = 0;
    std::size_t written = 0;
    auto rc = libdeflate_deflate_decompress_ex(decompressor.get(), in, size,
                                               out.data() + original_size, room, &used,
                                               &written);
    // The same rule as zlib's path: the trailer may be short or wrong, but
    // nothing may follow it.
    if (rc == LIBDEFLATE_SUCCESS && size - used <= 4) {
      out.resize(original_size + written);
      return true;
    }
    if (rc != LIBDEFLATE_INSUFFICIENT_SPACE)
      break;
  }
  out.resize(original_size);
  return false;
}

} // namespace

// The zlib header (2 bytes) and trailer (Adler-32, 4 bytes) are handled here
// and only the deflate data in between is inflated (as a raw stream). That
// is what lets a stream whose trailer is short or wrong through (1.x senders
// drop its last byte), while a stream cut inside its deflate data is still
// reported: the deflate data must reach the end of its last block. What
// libdeflate rejects goes through zlib, whose errors say what is wrong.
bool inflate_block(const char* data, std::size_t size, std::vector<char>& out,
                   std::string& error) {
  auto fail = [&](std::string why) {
    error = "inflate: " + std::move(why);
    return false;
  };
  if (size < 2)
    return fail("not a zlib stream (only " + std::to_string(size) + " bytes)");
  const auto cmf = static_cast<unsigned char>(data[0]);
  const auto flg = static_cast<unsigned char>(data[1]);
  if ((cmf & 0x0F) != 8 || (cmf >> 4) > 7 || (cmf * 256u + flg) % 31 != 0)
    return fail("not a zlib stream (bad header bytes)");
  if (flg & 0x20)
    return fail("zlib stream needs a preset dictionary, which logpipe never uses");
  return inflate_raw_with_libdeflate(data + 2, size - 2, out)
         || inflate_raw_with_zlib(data + 2, size - 2, out, error);
}

} // namespace logpipe
