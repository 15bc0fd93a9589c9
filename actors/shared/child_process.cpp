#include "actors/shared/child_process.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <system_error>
#include <thread>
#include <vector>
#include <unistd.h>

extern char** environ;

namespace logpipe {

namespace {

[[noreturn]] void fail(int err, const char* what) {
  throw std::system_error(err, std::generic_category(), what);
}

} // namespace

std::string describe_wait_status(int status) {
  if (WIFEXITED(status))
    return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "stopped";
}

child_process::~child_process() {
  terminate();
}

child_process::child_process(child_process&& other) noexcept
  : pid_(other.pid_), out_fd_(other.out_fd_) {
  other.pid_ = -1;
  other.out_fd_ = -1;
}

child_process& child_process::operator=(child_process&& other) noexcept {
  if (this != &other) {
    terminate();
    pid_ = other.pid_;
    out_fd_ = other.out_fd_;
    other.pid_ = -1;
    other.out_fd_ = -1;
  }
  return *this;
}

child_process child_process::start(const std::string& command,
                                   const std::map<std::string, std::string>& extra_env,
                                   bool capture_stdout) {
  int pipe_fds[2] = {-1, -1};
  if (capture_stdout && ::pipe2(pipe_fds, O_CLOEXEC) != 0)
    fail(errno, "pipe");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (capture_stdout)
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  else
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Own process group: terminate() reaches every process of a pipeline.
  // Default signal mask and dispositions: the agent blocks SIGTERM in its
  // threads and ignores SIGPIPE, and children must not inherit that.
  sigset_t empty, defaults;
  sigemptyset(&empty);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK
                                    | POSIX_SPAWN_SETSIGDEF);
  // The agent's environment, with `extra_env` added (or overriding).
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    if (extra_env.count(entry.substr(0, entry.find('='))) == 0)
      env_strings.push_back(std::move(entry));
  }
  for (const auto& [key, value] : extra_env)
    env_strings.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (auto& entry : env_strings)
    envp.push_back(entry.data());
  envp.push_back(nullptr);
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid = -1;
  int err = ::posix_spawn(&pid, "/bin/sh", &actions, &attr,
                          const_cast<char* const*>(argv), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (capture_stdout)
    ::close(pipe_fds[1]);
  if (err != 0) {
    if (capture_stdout)
      ::close(pipe_fds[0]);
    fail(err, "posix_spawn /bin/sh");
  }
  child_process result;
  result.pid_ = pid;
  if (capture_stdout) {
    ::fcntl(pipe_fds[0], F_SETFL, ::fcntl(pipe_fds[0], F_GETFL) | O_NONBLOCK);
    result.out_fd_ = pipe_fds[0];
  }
  return result;
}

void child_process::close_stdout() {
  if (out_fd_ >= 0) {
    ::close(out_fd_);
    out_fd_ = -1;
  }
}

std::optional<std::string> child_process::try_reap() {
  if (pid_ <= 0)
    return std::nullopt;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) != pid_)
    return std::nullopt;
  pid_ = -1;
  return describe_wait_status(status);
}

void child_process::terminate() {
  close_stdout();
  if (pid_ <= 0)
    return;
  const pid_t group = pid_;
  ::kill(-group, SIGTERM);
  // Give the command a moment to exit on SIGTERM before insisting. Wait for
  // the whole group, not just the shell: a member of a pipeline may ignore
  // SIGTERM and outlive it.
  for (int i = 0; i < 50; ++i) {
    try_reap();
    if (pid_ <= 0 && ::kill(-group, 0) != 0)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  // Fails with ESRCH when the group is gone.
  ::kill(-group, SIGKILL);
  if (pid_ > 0) {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
}

} // namespace logpipe
