#include "actors/shared/write_all.hpp"

#include <cerrno>
#include <unistd.h>

namespace logpipe {

int write_all(int fd, const char* data, std::size_t size, std::uint64_t* written) {
  while (size > 0) {
    auto n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return errno;
    }
    if (written)
      *written += static_cast<std::uint64_t>(n);
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return 0;
}

} // namespace logpipe
