#pragma once

// The unit of data that flows from inputs through the bus to outputs.

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace logpipe {

/// Bumped whenever log_block's fields or their meaning change; nodes that
/// disagree on it refuse to link (an unknown type arrives empty in CAF).
constexpr std::uint32_t protocol_version = 2;

/// Bits of log_block::flags.
enum block_flags : std::uint32_t {
  /// `bytes` is one complete zlib (deflate) stream.
  deflated = 1u << 0,
  /// `bytes` ends at a newline (line mode; not the pieces of a split
  /// over-long line).
  line_aligned = 1u << 1,
};

struct log_block {
  /// The agent that first read these bytes (its [agent] name).
  std::string origin;
  /// The file name relative to its watched folder, as the collector saw it.
  std::string file_name;
  /// Offset of the first byte in the source file (or stream).
  std::uint64_t offset = 0;
  /// Names one generation of the source: a file input gives each file a
  /// random id, and a new one when the file is truncated or replaced, so that
  /// (origin, file_name, source_id, offset) names the same bytes wherever and
  /// however often they are sent. 0 when the input cannot tell (tcp).
  std::uint64_t source_id = 0;
  /// block_flags.
  std::uint32_t flags = 0;
  /// Index of the local input that published the block; with `seq` it names
  /// the block in acknowledgements.
  std::uint32_t input = 0;
  /// Per-input sequence number, assigned by the input.
  std::uint64_t seq = 0;
  std::vector<char> bytes;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, log_block& x) {
  return f(caf::meta::type_name("logpipe.log_block"), x.origin, x.file_name,
           x.offset, x.source_id, x.flags, x.input, x.seq, x.bytes);
}

bool operator==(const log_block& a, const log_block& b);

} // namespace logpipe
