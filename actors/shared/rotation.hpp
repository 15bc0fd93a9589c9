#pragma once

// Size-based rotation of watched files (file input) and written files (file
// output): the file is renamed in its folder to
// `_<name>-YYYYMMDD_HHMMSS_<microseconds>` and shell hooks run before and
// after, with LOGPIPE_ROTATING_PATHNAME (the folder),
// LOGPIPE_ROTATING_OLD_FILENAME and LOGPIPE_ROTATING_NEW_FILENAME set.

#include "actors/shared/child_process.hpp"

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace logpipe {

/// `_app.log-20261126_084001_123456` for `app.log` at that local time.
std::string rotated_name(const std::string& name,
                         std::chrono::system_clock::time_point when);

/// Whether `name` has the shape rotated_name() produces (such files are
/// never collected).
bool is_rotated_name(std::string_view name);

/// The environment variables a rotation hook gets, besides the agent's own.
std::map<std::string, std::string> rotation_hook_env(const std::string& folder,
                                                     const std::string& old_name,
                                                     const std::string& new_name);

/// Starts a hook: `/bin/sh -c command` with the agent's environment plus
/// `env`, standard output to /dev/null, without waiting for it (the caller
/// reaps it with try_reap(), and may terminate() a hook that takes too long).
/// Throws std::system_error if it cannot start.
child_process start_hook(const std::string& command,
                         const std::map<std::string, std::string>& env);

/// Hooks started after rotations that run in the background: each is reaped
/// when it ends and killed once it outlives the timeout.
class background_hooks {
public:
  using time_point = std::chrono::steady_clock::time_point;

  /// Starts a hook (start_hook()); throws std::system_error if it cannot.
  void start(const std::string& command, const std::map<std::string, std::string>& env,
             time_point now);

  /// Reaps the hooks that ended and kills those started `timeout` or more
  /// before `now`. Returns how each ended that did not exit with status 0
  /// ("exited with status 1", "killed after the timeout", ...).
  std::vector<std::string> supervise(time_point now, std::chrono::microseconds timeout);

  bool empty() const { return running_.empty(); }

private:
  std::vector<std::pair<child_process, time_point>> running_;
};

} // namespace logpipe
