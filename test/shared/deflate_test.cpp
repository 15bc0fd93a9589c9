// deflate_block / inflate_block: zlib streams as logpipe 1.x makes and reads
// them, streams missing up to their whole Adler-32 trailer (1.x senders drop
// its last byte), garbage and streams cut inside their data, outputs larger
// than the first output buffer or than the fast path takes, and the 1.x
// block size bound.

#include "actors/shared/deflate.hpp"

#include "test/support/log_text.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace logpipe;
using logpipe::test::log_text;

std::string random_bytes(std::size_t size, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::string s(size, '\0');
  for (auto& c : s)
    c = static_cast<char>(gen() & 0xFF);
  return s;
}

std::vector<char> compress(const std::string& data, int level = default_compress_level) {
  std::vector<char> out;
  deflate_block(data.data(), data.size(), level, out);
  return out;
}

std::string as_string(const std::vector<char>& v) {
  return std::string(v.begin(), v.end());
}

unsigned byte_at(const std::vector<char>& v, std::size_t i) {
  return static_cast<unsigned char>(v.at(i));
}

TEST(deflate, headers_by_level) {
  const auto text = log_text(1000);
  auto def = compress(text, -1);
  EXPECT_EQ(byte_at(def, 0), 0x78u);
  EXPECT_EQ(byte_at(def, 1), 0x9cu);
  auto six = compress(text, 6);
  EXPECT_EQ(byte_at(six, 0), 0x78u);
  EXPECT_EQ(byte_at(six, 1), 0x9cu);
  EXPECT_EQ(def, six);
  auto one = compress(text, 1);
  EXPECT_EQ(byte_at(one, 0), 0x78u);
  EXPECT_EQ(byte_at(one, 1), 0x01u);
  auto nine = compress(text, 9);
  EXPECT_EQ(byte_at(nine, 1), 0xdau);
}

TEST(deflate, zlib_itself_reads_every_level) {
  // zlib's uncompress() checks the header and the Adler-32 trailer: what a
  // 1.x node (or any zlib reader) makes of our blocks.
  const auto text = log_text(max_deflate_input);
  for (int level : {-1, 0, 1, 6, 9}) {
    const auto z = compress(text, level);
    std::string back(text.size(), '\0');
    uLongf back_size = back.size();
    ASSERT_EQ(uncompress(reinterpret_cast<Bytef*>(back.data()), &back_size,
                         reinterpret_cast<const Bytef*>(z.data()), z.size()),
              Z_OK)
      << "level " << level;
    EXPECT_EQ(back_size, text.size());
    EXPECT_TRUE(back == text) << "level " << level;
  }
  // Level 0 stores the bytes: one final stored block, as zlib writes it.
  const std::string hello = "hello, hello, hello\n";
  EXPECT_EQ(as_string(compress(hello, 0)),
            std::string("\x78\x01\x01\x14\x00\xeb\xff", 7) + hello + "\x4b\x07\x06\xdf");
}

/// Adler-32 (RFC 1950), written out here to check the trailers.
std::uint32_t adler32_of(const std::string& data) {
  std::uint32_t a = 1, b = 0;
  for (unsigned char c : data) {
    a = (a + c) % 65521;
    b = (b + a) % 65521;
  }
  return b << 16 | a;
}

TEST(deflate, complete_trailer) {
  for (const auto& text : {std::string(), log_text(max_deflate_input), random_bytes(5000, 7)}) {
    const auto z = compress(text);
    ASSERT_GE(z.size(), 6u);
    const std::size_t n = z.size();
    const std::uint32_t trailer = byte_at(z, n - 4) << 24 | byte_at(z, n - 3) << 16
                                  | byte_at(z, n - 2) << 8 | byte_at(z, n - 1);
    EXPECT_EQ(trailer, adler32_of(text)) << text.size() << " bytes";
  }
}

TEST(deflate, replaces_the_output) {
  std::vector<char> out{'o', 'l', 'd'};
  deflate_block("abc", 3, -1, out);
  std::vector<char> fresh;
  deflate_block("abc", 3, -1, fresh);
  EXPECT_EQ(out, fresh);
}

TEST(deflate, bad_level_throws) {
  std::vector<char> out;
  EXPECT_THROW(deflate_block("abc", 3, 10, out), std::runtime_error);
  EXPECT_THROW(deflate_block("abc", 3, -2, out), std::runtime_error);
}

TEST(deflate, round_trip_appends) {
  const auto text = log_text(20000);
  const auto z = compress(text);
  std::vector<char> out{'>', '>'};
  std::string error;
  ASSERT_TRUE(inflate_block(z.data(), z.size(), out, error)) << error;
  EXPECT_EQ(as_string(out), ">>" + text);
}

TEST(deflate, empty_input_round_trip) {
  const auto z = compress("");
  std::vector<char> out;
  std::string error;
  ASSERT_TRUE(inflate_block(z.data(), z.size(), out, error)) << error;
  EXPECT_TRUE(out.empty());
}

TEST(deflate, tolerates_a_missing_trailer) {
  // 1.x senders drop the last byte; accept up to the whole 4-byte trailer.
  for (const auto& text : {log_text(30000), random_bytes(3000, 1), std::string("x")}) {
    const auto z = compress(text);
    for (std::size_t drop = 1; drop <= 4; ++drop) {
      SCOPED_TRACE(std::to_string(text.size()) + " bytes, trailer bytes dropped: "
                   + std::to_string(drop));
      std::vector<char> out;
      std::string error;
      ASSERT_TRUE(inflate_block(z.data(), z.size() - drop, out, error)) << error;
      EXPECT_EQ(as_string(out), text);
    }
  }
}

TEST(deflate, tolerates_a_wrong_trailer) {
  const auto text = log_text(5000);
  auto z = compress(text);
  z.back() = static_cast<char>(z.back() ^ 0x55);
  std::vector<char> out;
  std::string error;
  ASSERT_TRUE(inflate_block(z.data(), z.size(), out, error)) << error;
  EXPECT_EQ(as_string(out), text);
}

TEST(deflate, rejects_garbage) {
  std::vector<char> out{'k'};
  std::string error;
  EXPECT_FALSE(inflate_block("hello", 5, out, error));
  EXPECT_EQ(error, "inflate: not a zlib stream (bad header bytes)");
  EXPECT_EQ(as_string(out), "k"); // nothing appended

  error.clear();
  EXPECT_FALSE(inflate_block("x", 1, out, error));
  EXPECT_EQ(error, "inflate: not a zlib stream (only 1 bytes)");
  error.clear();
  EXPECT_FALSE(inflate_block("", 0, out, error));
  EXPECT_EQ(error, "inflate: not a zlib stream (only 0 bytes)");

  // A valid header followed by bytes that are not deflate data.
  const std::string bad_data = "\x78\x9c\xff\xff\xff\xff\xff\xff";
  error.clear();
  EXPECT_FALSE(inflate_block(bad_data.data(), bad_data.size(), out, error));
  EXPECT_EQ(error.rfind("inflate: corrupt zlib stream: ", 0), 0u) << error;
  EXPECT_EQ(as_string(out), "k");

  // A preset dictionary (FDICT) is never used by logpipe.
  const std::string dict("\x78\xbb\x00\x00\x00\x01", 6);
  error.clear();
  EXPECT_FALSE(inflate_block(dict.data(), dict.size(), out, error));
  EXPECT_NE(error.find("preset dictionary"), std::string::npos) << error;
}

TEST(deflate, rejects_a_stream_cut_inside_its_data) {
  const auto text = log_text(30000);
  const auto z = compress(text);
  for (std::size_t drop : {std::size_t{5}, std::size_t{50}, z.size() / 2, z.size() - 3}) {
    SCOPED_TRACE("dropped " + std::to_string(drop));
    std::vector<char> out{'k'};
    std::string error;
    EXPECT_FALSE(inflate_block(z.data(), z.size() - drop, out, error));
    EXPECT_EQ(error.rfind("inflate: zlib stream truncated inside its compressed data", 0),
              0u)
        << error;
    EXPECT_EQ(as_string(out), "k");
  }
}

TEST(deflate, rejects_bytes_after_the_trailer) {
  const auto text = log_text(100);
  auto z = compress(text);
  z.push_back('!');
  std::vector<char> out;
  std::string error;
  EXPECT_FALSE(inflate_block(z.data(), z.size(), out, error));
  EXPECT_EQ(error, "inflate: 1 unexpected bytes after the end of the zlib stream");
  EXPECT_TRUE(out.empty());
}

TEST(deflate, output_larger_than_the_first_buffer) {
  // 1 MiB of very compressible data inflates to far more than the first
  // output buffer (4 x the input).
  const std::string text = log_text(1 << 20);
  const auto z = compress(text);
  ASSERT_LT(z.size() * 4, text.size());
  std::vector<char> out;
  std::string error;
  ASSERT_TRUE(inflate_block(z.data(), z.size(), out, error)) << error;
  EXPECT_EQ(out.size(), text.size());
  EXPECT_TRUE(as_string(out) == text);

  const std::string zeros(1 << 20, '\0');
  const auto zz = compress(zeros);
  out.clear();
  ASSERT_TRUE(inflate_block(zz.data(), zz.size() - 1, out, error)) << error;
  EXPECT_EQ(out.size(), zeros.size());
  EXPECT_TRUE(as_string(out) == zeros);
}

TEST(deflate, output_larger_than_the_fast_path_takes) {
  // 80 MiB of zeros compress about a thousandfold; beyond 64 MiB of output
  // the block is inflated by the slower path, appending as well.
  const std::string zeros(80 << 20, '\0');
  const auto z = compress(zeros);
  std::vector<char> out = {'x'};
  std::string error;
  ASSERT_TRUE(inflate_block(z.data(), z.size(), out, error)) << error;
  ASSERT_EQ(out.size(), zeros.size() + 1);
  EXPECT_EQ(out[0], 'x');
  EXPECT_TRUE(std::string(out.begin() + 1, out.end()) == zeros);
}

TEST(deflate, incompressible_input_fits_a_1x_block) {
  for (std::uint32_t seed : {1u, 2u, 3u}) {
    const auto data = random_bytes(max_deflate_input, seed);
    for (int level : {-1, 1, 9}) {
      const auto z = compress(data, level);
      EXPECT_LE(z.size(), 102399u) << "seed " << seed << " level " << level;
      EXPECT_GT(z.size(), max_deflate_input);
      std::vector<char> out;
      std::string error;
      ASSERT_TRUE(inflate_block(z.data(), z.size() - 1, out, error)) << error;
      EXPECT_TRUE(as_string(out) == data);
    }
  }
}

TEST(deflate, inflates_streams_with_a_smaller_window) {
  // Other zlib writers may use a smaller window: header 18 95 is CINFO 1 (a
  // 512-byte window). Made by Python's zlib.compressobj(6, DEFLATED, 9).
  std::string text;
  for (int i = 0; i < 20; ++i)
    text += "abcabcabc";
  text += "\n";
  const std::string z("\x18\x95\x4b\x4c\x4a\x4e\x1c\x6a\x88\x0b\x00\xa2\x9b\x44\xf3", 15);
  std::vector<char> out;
  std::string error;
  ASSERT_TRUE(inflate_block(z.data(), z.size(), out, error)) << error;
  EXPECT_EQ(as_string(out), text);
  out.clear();
  ASSERT_TRUE(inflate_block(z.data(), z.size() - 1, out, error)) << error;
  EXPECT_EQ(as_string(out), text);
}

} // namespace

namespace {

TEST(deflate, a_compressed_block_keeps_no_spare_room) {
  // Blocks keep their buffer while they travel: deflateBound()'s reserve
  // (about the input's size) must not stay with them.
  auto text = logpipe::test::log_text(100000);
  std::vector<char> out;
  logpipe::deflate_block(text.data(), text.size(), logpipe::default_compress_level, out);
  EXPECT_LT(out.size(), text.size() / 4);
  EXPECT_EQ(out.capacity(), out.size());
}

} // namespace
