#pragma once

// Numbered lines for tests that move logs between agents: every line names
// its stream and its number, so that a loss, a duplicate or a damaged line
// can be told apart and located.

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

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

/// What a received text holds of lines 0 .. count-1 of one stream.
struct line_tally {
  std::size_t lost = 0;
  /// Copies beyond the first.
  std::size_t duplicated = 0;
  /// Lines that are not a whole line of the stream (spliced, cut).
  std::size_t damaged = 0;
};

inline line_tally tally_lines(const std::string& text, const std::string& stream,
                              std::size_t count) {
  line_tally tally;
  std::vector<std::size_t> seen(count, 0);
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos)
      end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    const auto prefix = stream + " ";
    char* rest = nullptr;
    std::size_t n = line.compare(0, prefix.size(), prefix) == 0
                      ? std::strtoull(line.c_str() + prefix.size(), &rest, 10)
                      : count;
    if (n >= count || numbered_lines(stream, n, 1) != line + "\n") {
      ++tally.damaged;
      continue;
    }
    if (seen[n]++ > 0)
      ++tally.duplicated;
  }
  for (auto times : seen)
    tally.lost += times == 0 ? 1 : 0;
  return tally;
}

} // namespace logpipe::test
