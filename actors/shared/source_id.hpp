#pragma once

// Source ids name one generation of a source (log_block::source_id): a file
// until it is truncated or replaced, one run of a command. They are random,
// so that ids minted by different agents, or by one agent before and after a
// crash, do not collide.

#include <cstdint>
#include <random>
#include <sys/random.h>
#include <sys/types.h>

namespace logpipe {

/// A random non-zero 64-bit number.
inline std::uint64_t new_source_id() {
  for (;;) {
    std::uint64_t id = 0;
    if (::getrandom(&id, sizeof id, 0) != static_cast<ssize_t>(sizeof id)) {
      // No getrandom(2) (old kernel) or interrupted: the library's source.
      std::random_device device;
      id = std::uint64_t{device()} << 32 | device();
    }
    if (id != 0)
      return id;
  }
}

} // namespace logpipe
