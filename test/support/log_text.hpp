#pragma once

// Text shaped like a real log, for tests that compress or frame it.

#include <cstddef>
#include <string>

namespace logpipe::test {

/// `size` bytes of numbered syslog-like lines (the last one cut at `size`).
inline std::string log_text(std::size_t size) {
  std::string s;
  std::size_t n = 0;
  while (s.size() < size)
    s += "2026-11-26T08:40:01.123456Z host app[1234]: request " + std::to_string(n++)
         + " served in 12 ms\n";
  s.resize(size);
  return s;
}

} // namespace logpipe::test
