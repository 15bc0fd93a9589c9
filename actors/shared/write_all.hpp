#pragma once

// Writing a whole buffer to a file descriptor: write(2) may write less than
// asked, or be interrupted by a signal.

#include <cstddef>
#include <cstdint>

namespace logpipe {

/// Writes all `size` bytes of `data` to `fd`, retrying on EINTR; 0, or the
/// errno of the write that failed. If `written` is given, every byte written
/// is added to it, also those written before a failure.
int write_all(int fd, const char* data, std::size_t size,
              std::uint64_t* written = nullptr);

} // namespace logpipe
