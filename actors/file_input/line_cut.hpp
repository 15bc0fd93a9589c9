#pragma once

// Line mode of the file input: every block ends at a newline; an incomplete
// last line waits for its newline; a line longer than max_line is split.

#include <cstddef>

namespace logpipe {

struct line_cut {
  /// Bytes to ship from the start of the data (0: wait for more).
  std::size_t length = 0;
  /// The cut is inside an over-long line (no newline within max_line bytes).
  bool split = false;
};

/// Where to cut `size` bytes read from a file: after the last newline; if
/// there is no newline and at least `max_line` bytes, after `max_line` bytes
/// (split); otherwise nothing (the line is incomplete). With `at_eof_of_dead_file`
/// (the file was deleted or rotated away and fully read) the rest is shipped
/// as it is, since no newline will ever come.
line_cut cut_lines(const char* data, std::size_t size, std::size_t max_line,
                   bool at_eof_of_dead_file = false);

} // namespace logpipe
