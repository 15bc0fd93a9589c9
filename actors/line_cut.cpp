#include "actors/line_cut.hpp"

#include <cstring>

namespace logpipe {

// A `max_line` of 0 means no limit: a line without a newline is never split.
line_cut cut_lines(const char* data, std::size_t size, std::size_t max_line,
                   bool at_eof_of_dead_file) {
  if (size == 0)
    return {};
  if (at_eof_of_dead_file)
    return {size, false};
  if (const void* nl = ::memrchr(data, '\n', size))
    return {static_cast<std::size_t>(static_cast<const char*>(nl) - data) + 1, false};
  if (max_line > 0 && size >= max_line)
    return {max_line, true};
  return {};
}

} // namespace logpipe
