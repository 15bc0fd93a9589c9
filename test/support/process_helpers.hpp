#pragma once

// Helpers for tests that run the real `logpipe` binary: a per-test temporary
// folder, spawning with stdout/stderr captured to files, waiting for exit or
// for a condition with a deadline, and looking at processes through /proc.
//
// Processes a test starts are found again by a marker string (the temporary
// folder's path, which appears in the command line of the monitor, of the
// worker it forks and of the exec input's shell), so that teardown can kill
// every one of them even after a failed assertion.

#include "actors/shared/child_process.hpp"
#include "test/support/proc_scan.hpp"
#include "test/support/wait_until.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

extern char** environ;

namespace logpipe::proc_test {

using namespace std::chrono_literals;
using logpipe::test::clock_type;
using logpipe::test::default_timeout;
using logpipe::test::wait_until;

// The /proc scan and read_file are shared with the in-process tests.
using logpipe::test::alive;
using logpipe::test::all_pids;
using logpipe::test::children_of;
using logpipe::test::cmdline_of;
using logpipe::test::describe_pids;
using logpipe::test::pids_in_group;
using logpipe::test::pids_with_marker;
using logpipe::test::proc_stat;
using logpipe::test::read_file;
using logpipe::test::stat_of;

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out)
    throw std::runtime_error("cannot write " + path);
}

inline void append_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << text;
  if (!out)
    throw std::runtime_error("cannot append to " + path);
}

/// The size of a file, 0 if it does not exist (yet).
inline std::uint64_t size_of(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 ? static_cast<std::uint64_t>(info.st_size) : 0;
}

/// Counts the (non-overlapping) occurrences of `needle` in `text`.
inline std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + needle.size()))
    ++n;
  return n;
}

/// The lines of `text` (without their '\n'; a trailing unterminated piece is
/// left out, since it may still be being written).
inline std::vector<std::string> complete_lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (auto nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', start)) {
    out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

/// Whether `text` has the shape of `pattern`, where '#' stands for one digit
/// and every other character for itself ("####-##-##" for a date).
inline bool has_shape(const std::string& text, const std::string& pattern) {
  if (text.size() != pattern.size())
    return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool digit = text[i] >= '0' && text[i] <= '9';
    if (pattern[i] == '#' ? !digit : text[i] != pattern[i])
      return false;
  }
  return true;
}

/// `text` as a process id if it is nothing but decimal digits.
inline std::optional<pid_t> parse_pid(const std::string& text) {
  if (text.empty() || text.size() > 9)
    return std::nullopt;
  for (char c : text)
    if (c < '0' || c > '9')
      return std::nullopt;
  return static_cast<pid_t>(std::stol(text));
}

/// A folder made with mkdtemp under /tmp, removed with its content at the end.
class temp_dir {
public:
  explicit temp_dir(const std::string& prefix) {
    std::string pattern = "/tmp/" + prefix + "-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::system_error(errno, std::generic_category(), "mkdtemp");
    path_ = pattern;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  const std::string& path() const {
    return path_;
  }

  std::string file(const std::string& name) const {
    return path_ + "/" + name;
  }

private:
  std::string path_;
};

// --- The agent's log -----------------------------------------------------------

/// One line of the agent's log: "2026-11-26 08:40:01.123 [1234] notice: text".
struct log_line {
  pid_t pid = 0;
  std::string level;
  std::string text;
};

/// The parts of a log line, or nothing if it is not in the log's format.
inline std::optional<log_line> parse_log_line(const std::string& line) {
  static const std::string stamp = "####-##-## ##:##:##.### [";
  if (line.size() < stamp.size() || !has_shape(line.substr(0, stamp.size()), stamp))
    return std::nullopt;
  auto close = line.find("] ", stamp.size());
  if (close == std::string::npos)
    return std::nullopt;
  auto pid = parse_pid(line.substr(stamp.size(), close - stamp.size()));
  auto colon = line.find(": ", close + 2);
  if (!pid || colon == std::string::npos)
    return std::nullopt;
  log_line out{*pid, line.substr(close + 2, colon - close - 2), line.substr(colon + 2)};
  for (const char* level : {"debug", "info", "notice", "warn", "error"})
    if (out.level == level)
      return out;
  return std::nullopt;
}

/// Every complete line of a log file; a line not in the log's format keeps
/// pid 0 and its whole text.
inline std::vector<log_line> read_log(const std::string& file) {
  std::vector<log_line> out;
  for (const auto& line : complete_lines(read_file(file)))
    out.push_back(parse_log_line(line).value_or(log_line{0, "", line}));
  return out;
}

// --- Killing what a test left ------------------------------------------------

/// SIGKILLs every process carrying `marker` and every process in their
/// process groups (never this test's own group), until none is left.
inline void kill_marked(const std::string& marker) {
  const pid_t own_group = ::getpgrp();
  wait_until(
    [&] {
      auto pids = pids_with_marker(marker);
      for (auto pid : pids) {
        if (auto s = stat_of(pid); s && s->pgrp > 1 && s->pgrp != own_group)
          ::kill(-s->pgrp, SIGKILL);
        ::kill(pid, SIGKILL);
      }
      return pids.empty();
    },
    5s);
}

// --- Spawning ------------------------------------------------------------------

/// A child process started with posix_spawn: stdin from /dev/null, stdout
/// and stderr appended to files, in its own process group (so that signals
/// sent to the test's group do not reach it, and it can be killed as a group).
/// The destructor kills (SIGKILL, whole group) and reaps it if still running.
class child {
public:
  child(const std::vector<std::string>& args, const std::string& out_file,
        const std::string& err_file) {
    int out = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int err = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out < 0 || err < 0) {
      int e = errno;
      if (out >= 0)
        ::close(out);
      if (err >= 0)
        ::close(err);
      throw std::system_error(e, std::generic_category(), "open output files");
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err, STDERR_FILENO);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // Default mask and dispositions, whatever the test runner set up.
    sigset_t empty, defaults;
    sigemptyset(&empty);
    sigemptyset(&defaults);
    for (int sig : {SIGTERM, SIGINT, SIGCHLD, SIGPIPE, SIGHUP})
      sigaddset(&defaults, sig);
    posix_spawnattr_setsigmask(&attr, &empty);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK
                                      | POSIX_SPAWN_SETSIGDEF);
    std::vector<char*> argv;
    for (const auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    int rc = ::posix_spawn(&pid_, argv[0], &actions, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    ::close(out);
    ::close(err);
    if (rc != 0)
      throw std::system_error(rc, std::generic_category(), "posix_spawn " + args[0]);
  }

  child(const child&) = delete;
  child& operator=(const child&) = delete;

  ~child() {
    if (!status_) {
      ::kill(-pid_, SIGKILL);
      ::kill(pid_, SIGKILL);
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }

  pid_t pid() const {
    return pid_;
  }

  /// The wait status once the process has ended (reaping it), or nothing if
  /// it is still running after `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = default_timeout) {
    wait_until(
      [&] {
        if (status_)
          return true;
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_)
          status_ = status;
        return status_.has_value();
      },
      timeout);
    return status_;
  }

  /// Whether it has ended (reaping it).
  bool ended() {
    return wait_exit(0ms).has_value();
  }

private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

struct run_result {
  int status = -1; // wait status; -1 if the process did not end in time
  std::string out;
  std::string err;

  bool exited_with(int code) const {
    return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == code;
  }
};

/// Runs `args` to completion (killing it after `timeout`), with stdout and
/// stderr captured in `dir`.
inline run_result run(const std::vector<std::string>& args, const temp_dir& dir,
                      std::chrono::milliseconds timeout = default_timeout) {
  static int counter = 0;
  auto n = std::to_string(++counter);
  auto out_file = dir.file("run" + n + ".out");
  auto err_file = dir.file("run" + n + ".err");
  run_result result;
  {
    child c(args, out_file, err_file);
    if (auto status = c.wait_exit(timeout))
      result.status = *status;
  } // killed here if still running
  result.out = read_file(out_file);
  result.err = read_file(err_file);
  return result;
}

inline std::ostream& operator<<(std::ostream& os, const run_result& r) {
  return os << "[" << (r.status < 0 ? std::string("did not end") : describe_wait_status(r.status))
            << "]\n--- stdout:\n" << r.out << "--- stderr:\n" << r.err << "---";
}

} // namespace logpipe::proc_test
