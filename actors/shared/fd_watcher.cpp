#include "actors/shared/fd_watcher.hpp"

#include "actors/core/logging.hpp"

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <poll.h>
#include <stdexcept>
#include <sys/eventfd.h>
#include <system_error>
#include <unistd.h>

namespace logpipe {

fd_watcher::fd_watcher(int fd, caf::actor_addr target, caf::message notice)
  : fd_(fd), target_(std::move(target)), notice_(std::move(notice)) {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0)
    throw std::system_error(errno, std::generic_category(), "eventfd");
  thread_ = std::thread([this] { run(); });
}

fd_watcher::~fd_watcher() {
  stopping_ = true;
  wake();
  thread_.join();
  ::close(wake_fd_);
}

void fd_watcher::arm() {
  armed_ = true;
  wake();
}

void fd_watcher::wake() {
  std::uint64_t one = 1;
  // Cannot fail short of a counter overflow; a full counter wakes anyway.
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof(one));
}

void fd_watcher::run() {
  while (!stopping_) {
    pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {fd_, POLLIN, 0}};
    // Watch fd_ only while armed: otherwise a readable fd would spin.
    nfds_t count = armed_ ? 2 : 1;
    if (::poll(fds, count, -1) < 0) {
      if (errno == EINTR)
        continue;
      log::error("fd_watcher: poll failed ({}); no more notices for fd {}",
                 std::strerror(errno), fd_);
      return;
    }
    if (fds[0].revents != 0) {
      std::uint64_t ignored;
      [[maybe_unused]] auto n = ::read(wake_fd_, &ignored, sizeof(ignored));
    }
    if (stopping_)
      return;
    if (count == 2 && fds[1].revents != 0 && armed_.exchange(false)) {
      auto hdl = caf::actor_cast<caf::actor>(target_);
      if (!hdl)
        return;
      caf::anon_send(hdl, notice_);
    }
  }
}

} // namespace logpipe
