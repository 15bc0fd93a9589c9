#pragma once

// Numbered lines for tests that move logs between agents: every line names
// its stream and its number, so that a loss, a duplicate or a damaged line
// can be told apart and located.

#include <cstddef>
#include <cstdio>
#include <string>

namespace logpipe::test {

/// Numbered lines of about 100 bytes: "<stream> 000000042 payload...\n".
inline std::string numbered_lines(const std::string& stream, std::size_t first,
                                  std::size_t count) {
  std::string out;
  out.reserve(count * 100);
  char head[64];
  for (std::size_t i = first; i < first + count; ++i) {
    int n = std::snprintf(head, sizeof head, "%s %09zu ", stream.c_str(), i);
    out.append(head, static_cast<std::size_t>(n));
    // 97 to 103 bytes with the newline: lines do not line up with blocks.
    out.append(static_cast<std::size_t>(96 - n) + i % 7, static_cast<char>('a' + i % 26));
    out += '\n';
  }
  return out;
}

/// About `bytes` of numbered lines.
inline std::string numbered_text(const std::string& stream, std::size_t bytes) {
  return numbered_lines(stream, 0, bytes / 100);
}

} // namespace logpipe::test
