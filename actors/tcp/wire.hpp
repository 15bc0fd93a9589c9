#pragma once

// The logpipe 1.x TCP framing (docs/wire-protocol.md): a message is
//   '@' | name length (2 bytes, big-endian) | name |
//   { block length (4 bytes big-endian + 4 zero bytes) | block bytes } ... |
//   8 zero bytes (terminator).
// Encoder and incremental decoder, with no CAF in them.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace logpipe::wire {

constexpr char magic = '@';

/// Longest block a 1.x receiver accepts; our sender never writes longer ones.
constexpr std::size_t max_block_1x = 102399;

/// Bytes a message adds around its blocks: magic, name length, terminator.
constexpr std::size_t message_overhead = 1 + 2 + 8;
/// Bytes each block adds: its length field.
constexpr std::size_t block_overhead = 8;

/// Appends one message carrying `size` bytes of `file_name` to `out`: the
/// bytes are cut into blocks of at most `max_block` bytes (one block if
/// `size` is 0 is not written: the message then has no block). `file_name`
/// must be at most 65,535 bytes.
void encode_message(std::string_view file_name, const char* data, std::size_t size,
                    std::vector<char>& out, std::size_t max_block = max_block_1x);

/// One block taken off the wire, whole.
struct block {
  std::string file_name;
  std::vector<char> bytes;
};

struct decoder_limits {
  /// Longest file name accepted.
  std::size_t max_name = 255;
  /// Longest block accepted.
  std::size_t max_block = max_block_1x;
};

/// Decodes a connection's byte stream piece by piece, in whatever pieces it
/// arrives. After an error it accepts nothing more (the caller closes the
/// connection); the blocks it delivered before the error are whole and valid.
class decoder {
public:
  explicit decoder(decoder_limits limits = {});

  /// Takes `size` more bytes and appends every block they complete to `out`.
  /// Returns false on a protocol error; error() then says what was wrong.
  bool feed(const char* data, std::size_t size, std::vector<block>& out);

  /// What was wrong, for the log ("bad magic byte 0x41", ...); empty if
  /// nothing.
  const std::string& error() const { return error_; }

  /// Whether the bytes so far end exactly between two messages.
  bool between_messages() const;

  /// Whether the bytes so far end inside a block (a close here loses the
  /// partial block: the sender's message was cut).
  bool inside_block() const;

  /// Bytes of the block being assembled (for memory accounting).
  std::size_t buffered() const;

private:
  enum class stage { magic, name_length, name, block_length, block_data, failed };
  /// Stops for good; `field_taken` bytes of the offending field were read,
  /// so that the message can say where that field starts.
  bool fail(std::string message, std::size_t field_taken);

  decoder_limits limits_;
  stage stage_ = stage::magic;
  /// Bytes of a fixed-size field (name length, block length) read so far.
  unsigned char field_[8] = {};
  std::size_t field_fill_ = 0;
  std::size_t name_length_ = 0;
  std::string name_;
  std::size_t block_length_ = 0;
  std::vector<char> block_;
  /// Bytes taken so far, to say where an error was.
  std::uint64_t offset_ = 0;
  std::string error_;
};

} // namespace logpipe::wire
