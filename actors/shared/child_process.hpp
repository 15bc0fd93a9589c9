#pragma once

// A shell command run as a child process, its standard output on a pipe.

#include <map>
#include <optional>
#include <string>
#include <sys/types.h>

namespace logpipe {

/// A waitpid() status in words: "exited with status 3", "was killed by
/// signal 9".
std::string describe_wait_status(int status);

class child_process {
public:
  child_process() = default;
  /// Kills (SIGTERM, then SIGKILL) and reaps the child if it still runs.
  ~child_process();

  child_process(child_process&& other) noexcept;
  child_process& operator=(child_process&& other) noexcept;

  /// Runs `/bin/sh -c command` in its own process group with standard input
  /// from /dev/null and standard output to a non-blocking pipe (or to
  /// /dev/null without `capture_stdout`); `extra_env` is added to the
  /// agent's environment. Throws std::system_error.
  static child_process start(const std::string& command,
                             const std::map<std::string, std::string>& extra_env = {},
                             bool capture_stdout = true);

  bool running() const { return pid_ > 0; }
  int stdout_fd() const { return out_fd_; }
  pid_t pid() const { return pid_; }

  /// Closes our end of the pipe.
  void close_stdout();

  /// Reaps the child if it has exited; returns describe_wait_status().
  std::optional<std::string> try_reap();

  /// Stops the whole process group and reaps the child.
  void terminate();

private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
};

} // namespace logpipe
