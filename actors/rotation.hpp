#pragma once

// Size-based rotation of watched files (file input) and written files (file
// output): the file is renamed in its folder to
// `_<name>-YYYYMMDD_HHMMSS_<microseconds>` and shell hooks run before and
// after, with LOGPIPE_ROTATING_PATHNAME (the folder),
// LOGPIPE_ROTATING_OLD_FILENAME and LOGPIPE_ROTATING_NEW_FILENAME set.

#include "actors/child_process.hpp"

#include <chrono>
#include <map>
#include <string>
#include <string_view>

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

} // namespace logpipe
