#pragma once

// zlib streams for blocks: each compressed block is one complete, independent
// zlib stream (header 78 xx, deflate data, Adler-32 trailer), as logpipe 1.x
// nodes expect (see docs/wire-protocol.md).

#include <cstddef>
#include <string>
#include <vector>

namespace logpipe {

/// zlib's default level (6).
constexpr int default_compress_level = -1;

/// Largest input that logpipe 1.x compresses into one stream; a stream of at
/// most this much input always fits a 1.x wire block (102,399 bytes).
constexpr std::size_t max_deflate_input = 101376;

/// Compresses `size` bytes into `out` (replacing its content) as one zlib
/// stream at `level` (-1, or 0 to 9). Throws std::runtime_error on failure.
void deflate_block(const char* data, std::size_t size, int level, std::vector<char>& out);

/// Inflates one zlib stream, appending to `out`. Tolerates the streams of
/// 1.x senders, which lack the last byte of their Adler-32 trailer: all the
/// data that can be inflated is kept, and a missing or bad trailer is not an
/// error. False and `error` if the data is not a zlib stream at all or is
/// corrupt before its end.
bool inflate_block(const char* data, std::size_t size, std::vector<char>& out,
                   std::string& error);

} // namespace logpipe
