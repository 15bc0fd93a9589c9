// libFuzzer target for the wire decoder (actors/tcp/wire.cpp): run it with
// scripts/fuzz.sh. It needs no CAF: only actors/tcp/wire.cpp and
// actors/shared/file_name.cpp.
//
// Input layout (so that the fuzzer also explores how a stream is split):
//   byte 0: bits 0-2 = how many piece-size bytes follow (0 to 7),
//           bit 3    = small limits (max_name 16, max_block 64) instead of the
//                      defaults, so that the limit checks are reached often;
//   the piece-size bytes: piece sizes 1 + b*b, used in turn;
//   the rest: the byte stream fed to the decoder.
//
// Invariants checked:
// - after an error feed() returns false forever, delivers nothing more and
//   the error stays as it was;
// - every delivered block has a name that passes file_name_problem() and at
//   most max_block (and at least 1) bytes; buffered() never exceeds max_block;
// - the pieces give exactly what the whole stream fed at once gives;
// - re-encoding the delivered blocks and decoding that gives the same blocks;
// - the stream's bytes encoded as one message decode back to those bytes.

#include "actors/shared/file_name.hpp"
#include "actors/tcp/wire.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using namespace logpipe;

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      std::fprintf(stderr, "wire_decoder_fuzz: check failed: %s (%s:%d)\n", #cond, \
                   __FILE__, __LINE__);                                              \
      std::abort();                                                                  \
    }                                                                                \
  } while (0)

struct result {
  bool ok = true;
  std::string error;
  std::vector<wire::block> blocks;
  bool between_messages = false;
  bool inside_block = false;
};

void check_blocks(const std::vector<wire::block>& blocks, std::size_t from,
                  const wire::decoder_limits& limits) {
  for (std::size_t i = from; i < blocks.size(); ++i) {
    CHECK(file_name_problem(blocks[i].file_name, limits.max_name).empty());
    CHECK(!blocks[i].bytes.empty());
    CHECK(blocks[i].bytes.size() <= limits.max_block);
  }
}

void check_state(const wire::decoder& d, const wire::decoder_limits& limits) {
  CHECK(d.buffered() <= limits.max_block);
  CHECK(!(d.inside_block() && d.between_messages()));
  if (!d.inside_block())
    CHECK(d.buffered() == 0);
}

result decode(const std::uint8_t* data, std::size_t size, const std::vector<std::size_t>& pieces,
              const wire::decoder_limits& limits) {
  wire::decoder d(limits);
  result r;
  std::size_t at = 0, turn = 0;
  while (at < size) {
    std::size_t n = pieces.empty() ? size - at : pieces[turn++ % pieces.size()];
    if (n > size - at)
      n = size - at;
    const std::size_t before = r.blocks.size();
    const bool ok = d.feed(reinterpret_cast<const char*>(data + at), n, r.blocks);
    check_state(d, limits);
    if (!r.ok) {
      // Once failed, always failed, and nothing more comes out.
      CHECK(!ok);
      CHECK(r.blocks.size() == before);
      CHECK(d.error() == r.error);
    } else {
      check_blocks(r.blocks, before, limits);
      if (ok) {
        CHECK(d.error().empty());
      } else {
        CHECK(!d.error().empty());
        CHECK(!d.between_messages() && !d.inside_block());
        r.ok = false;
        r.error = d.error();
      }
    }
    at += n;
  }
  r.between_messages = d.between_messages();
  r.inside_block = d.inside_block();
  return r;
}

bool same_blocks(const std::vector<wire::block>& a, const std::vector<wire::block>& b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].file_name != b[i].file_name || a[i].bytes != b[i].bytes)
      return false;
  return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  const std::size_t piece_bytes = data[0] & 0x07;
  wire::decoder_limits limits;
  if (data[0] & 0x08) {
    limits.max_name = 16;
    limits.max_block = 64;
  }
  if (size < 1 + piece_bytes)
    return 0;
  std::vector<std::size_t> pieces;
  for (std::size_t i = 0; i < piece_bytes; ++i)
    pieces.push_back(1 + std::size_t{data[1 + i]} * data[1 + i]);
  const std::uint8_t* stream = data + 1 + piece_bytes;
  const std::size_t stream_size = size - 1 - piece_bytes;

  const result split = decode(stream, stream_size, pieces, limits);
  const result whole = decode(stream, stream_size, {}, limits);
  CHECK(split.ok == whole.ok);
  CHECK(split.error == whole.error);
  CHECK(split.between_messages == whole.between_messages);
  CHECK(split.inside_block == whole.inside_block);
  CHECK(same_blocks(split.blocks, whole.blocks));

  // One message per block, as our sender writes them.
  std::vector<char> again;
  for (const auto& b : whole.blocks)
    wire::encode_message(b.file_name, b.bytes.data(), b.bytes.size(), again, limits.max_block);
  const result redecoded =
    decode(reinterpret_cast<const std::uint8_t*>(again.data()), again.size(), {}, limits);
  CHECK(redecoded.ok);
  CHECK(redecoded.between_messages);
  CHECK(same_blocks(redecoded.blocks, whole.blocks));

  // And the other way round: the stream's bytes as the data of one message
  // come back whole, cut at max_block, through the same pieces.
  std::vector<char> message;
  const std::string name = "f" + std::to_string(stream_size % 7);
  wire::encode_message(name, reinterpret_cast<const char*>(stream), stream_size, message,
                       limits.max_block);
  const result carried =
    decode(reinterpret_cast<const std::uint8_t*>(message.data()), message.size(), pieces, limits);
  CHECK(carried.ok);
  CHECK(carried.between_messages);
  CHECK(carried.blocks.size() == (stream_size + limits.max_block - 1) / limits.max_block);
  const char* const stream_chars = reinterpret_cast<const char*>(stream);
  std::size_t at = 0;
  for (const auto& b : carried.blocks) {
    CHECK(b.file_name == name);
    CHECK(b.bytes.size() == limits.max_block || at + b.bytes.size() == stream_size);
    CHECK(std::equal(b.bytes.begin(), b.bytes.end(), stream_chars + at));
    at += b.bytes.size();
  }
  CHECK(at == stream_size);
  return 0;
}
