#pragma once

// Looking at processes through /proc: tests that start real commands check
// which of them run, in which process group, and that none is left behind.
// One copy for every test (child_process, exec input, the real binary).

#include <dirent.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace logpipe::test {

/// The whole content of a file ("" if it cannot be read). /proc files have no
/// size to ask for beforehand, so it reads to the end.
inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// The fields of /proc/<pid>/stat that tests look at.
struct proc_stat {
  pid_t pid = 0;
  std::string comm; // command name, as `ps -o comm` shows it
  char state = '?';
  pid_t ppid = 0;
  pid_t pgrp = 0;
  pid_t session = 0;

  /// Zombies count as gone: they run no more, and here PID 1 may never reap
  /// the orphans it adopts.
  bool live() const {
    return state != 'Z' && state != 'X';
  }
};

/// /proc/<pid>/stat, or nothing if there is no such process (any more). A
/// zombie still has one: this tells whether the pid has been reaped.
inline std::optional<proc_stat> stat_of(pid_t pid) {
  std::string text = read_file("/proc/" + std::to_string(pid) + "/stat");
  // "pid (comm) state ppid pgrp session ...": comm may hold spaces and
  // parentheses, so it runs from the first '(' to the last ')'.
  auto open = text.find('(');
  auto close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open)
    return std::nullopt;
  std::istringstream in(text.substr(close + 1));
  proc_stat s;
  s.pid = pid;
  s.comm = text.substr(open + 1, close - open - 1);
  if (!(in >> s.state >> s.ppid >> s.pgrp >> s.session))
    return std::nullopt;
  return s;
}

/// Whether `pid` is a running process (see proc_stat::live for zombies).
inline bool alive(pid_t pid) {
  auto s = stat_of(pid);
  return s && s->live();
}

/// The command line with its arguments separated by spaces ("" once gone).
inline std::string cmdline_of(pid_t pid) {
  std::string text = read_file("/proc/" + std::to_string(pid) + "/cmdline");
  for (auto& c : text)
    if (c == '\0')
      c = ' ';
  return text;
}

/// Every pid in /proc, zombies included.
inline std::vector<pid_t> all_pids() {
  std::vector<pid_t> out;
  if (DIR* dir = ::opendir("/proc")) {
    while (auto* entry = ::readdir(dir)) {
      char* end = nullptr;
      long n = std::strtol(entry->d_name, &end, 10);
      if (n > 0 && end != nullptr && *end == '\0')
        out.push_back(static_cast<pid_t>(n));
    }
    ::closedir(dir);
  }
  return out;
}

/// Every live process; the filters below pick from it.
inline std::vector<proc_stat> live_processes() {
  std::vector<proc_stat> out;
  for (auto pid : all_pids())
    if (auto s = stat_of(pid); s && s->live())
      out.push_back(std::move(*s));
  return out;
}

/// Live processes (other than this one) whose command line contains `marker`.
inline std::vector<pid_t> pids_with_marker(const std::string& marker) {
  std::vector<pid_t> out;
  for (auto pid : all_pids())
    if (pid != ::getpid() && cmdline_of(pid).find(marker) != std::string::npos && alive(pid))
      out.push_back(pid);
  return out;
}

/// The live processes of process group `pgid`.
inline std::vector<proc_stat> group_members(pid_t pgid) {
  std::vector<proc_stat> out;
  for (auto& s : live_processes())
    if (s.pgrp == pgid)
      out.push_back(std::move(s));
  return out;
}

/// The pids of group_members(pgid).
inline std::vector<pid_t> pids_in_group(pid_t pgid) {
  std::vector<pid_t> out;
  for (const auto& s : group_members(pgid))
    out.push_back(s.pid);
  return out;
}

/// The command names of group_members(pgid), sorted so that they compare
/// and print the same whatever order /proc lists them in.
inline std::vector<std::string> group_comms(pid_t pgid) {
  std::vector<std::string> out;
  for (const auto& s : group_members(pgid))
    out.push_back(s.comm);
  std::sort(out.begin(), out.end());
  return out;
}

/// Whether every name in `comms` is the command of a live member of `pgid`.
inline bool group_has(pid_t pgid, const std::vector<std::string>& comms) {
  auto names = group_comms(pgid);
  return std::all_of(comms.begin(), comms.end(), [&](const std::string& c) {
    return std::binary_search(names.begin(), names.end(), c);
  });
}

/// Live children of `parent`.
inline std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  for (const auto& s : live_processes())
    if (s.ppid == parent)
      out.push_back(s.pid);
  return out;
}

/// "pid: command line; ..." for failure messages ("none" if empty).
inline std::string describe_pids(const std::vector<pid_t>& pids) {
  std::string out;
  for (auto pid : pids)
    out += (out.empty() ? "" : "; ") + std::to_string(pid) + ": " + cmdline_of(pid);
  return out.empty() ? "none" : out;
}

} // namespace logpipe::test
