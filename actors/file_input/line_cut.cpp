#include "actors/file_input/line_cut.hpp"

#include <cstring>

namespace logpipe {

// A `max_line` of 0 means no limit. Lines are taken whole while they fit; a
// line longer than max_line is cut off before it, so that it starts the next
// block, where it is split into max_line pieces.
line_cut cut_lines(const char* data, std::size_t size, std::size_t max_line,
                   bool at_eof_of_dead_file) {
  if (size == 0)
    return {};
  if (at_eof_of_dead_file)
    return {size, false};
  std::size_t shipped = 0; // the end of the last whole line taken
  while (shipped < size) {
    const char* start = data + shipped;
    std::size_t left = size - shipped;
    auto nl = static_cast<const char*>(std::memchr(start, '\n', left));
    // An incomplete line already max_line long will be too long too.
    std::size_t content = nl ? static_cast<std::size_t>(nl - start) : left;
    bool too_long = max_line > 0 && (nl ? content > max_line : content >= max_line);
    if (too_long)
      return shipped > 0 ? line_cut{shipped, false} : line_cut{max_line, true};
    if (!nl)
      break; // an incomplete line waits for its newline
    shipped += content + 1;
  }
  return {shipped, false};
}

} // namespace logpipe
