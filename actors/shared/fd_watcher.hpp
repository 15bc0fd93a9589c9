#pragma once

// Waits in its own thread until a file descriptor is readable (or closed) and
// then sends one notice message to an actor; it waits again only after
// arm(). An actor can therefore react to I/O without blocking a scheduler
// thread, and is never flooded with notices it did not ask for.

#include <caf/actor_addr.hpp>
#include <caf/message.hpp>

#include <atomic>
#include <thread>

namespace logpipe {

class fd_watcher {
public:
  /// Starts watching `fd` (not owned) for `target`, armed once.
  fd_watcher(int fd, caf::actor_addr target, caf::message notice);

  /// Wakes and joins the thread.
  ~fd_watcher();

  fd_watcher(const fd_watcher&) = delete;
  fd_watcher& operator=(const fd_watcher&) = delete;

  /// Allows one more notice.
  void arm();

private:
  void run();
  void wake();

  int fd_;
  int wake_fd_;
  // Weak: the thread must not keep its actor alive.
  caf::actor_addr target_;
  caf::message notice_;
  std::atomic<bool> armed_{true};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

} // namespace logpipe
