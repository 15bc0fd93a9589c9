// child_process with real processes: the command's standard output on a pipe,
// exit statuses, terminate() of a command and of a whole pipeline (its process
// group), and a clean signal state in the child whatever the caller's is.

#include "actors/shared/child_process.hpp"
#include "test/support/proc_scan.hpp"
#include "test/support/wait_until.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <optional>
#include <poll.h>
#include <pthread.h>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace logpipe::test {
namespace {

using namespace std::chrono_literals;

/// Everything the child writes until it closes its output.
std::string read_to_eof(int fd, std::chrono::milliseconds limit = 5000ms) {
  std::string result;
  auto deadline = clock_type::now() + limit;
  char buf[4096];
  for (;;) {
    auto n = ::read(fd, buf, sizeof(buf));
    if (n > 0) {
      result.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0)
      return result;
    if (errno == EINTR)
      continue;
    EXPECT_EQ(errno, EAGAIN) << std::strerror(errno);
    if (errno != EAGAIN)
      return result;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - clock_type::now());
    if (left.count() <= 0) {
      ADD_FAILURE() << "no EOF within the deadline; got so far: " << result;
      return result;
    }
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(left.count()));
  }
}

/// Reaps the child within the deadline; its description, or "" if it still runs.
std::string reap(child_process& child, std::chrono::milliseconds limit = 5000ms) {
  std::optional<std::string> how;
  wait_until([&] { return (how = child.try_reap()).has_value(); }, limit);
  return how.value_or("");
}

/// A signal mask bit as /proc/PID/status prints them (SigBlk, SigIgn, ...).
std::uint64_t status_mask(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0)
      return std::stoull(line.substr(field.size() + 1), nullptr, 16);
  ADD_FAILURE() << "no " << field << " in /proc/" << pid << "/status";
  return ~std::uint64_t{0};
}

constexpr std::uint64_t bit(int sig) {
  return std::uint64_t{1} << (sig - 1);
}

TEST(child_process_test, its_standard_output_arrives_on_the_pipe) {
  auto child = child_process::start("printf 'hello\\nworld\\n'; printf 'no newline'");
  ASSERT_TRUE(child.running());
  ASSERT_GT(child.pid(), 0);
  ASSERT_GE(child.stdout_fd(), 0);
  // Non-blocking (it is watched by an fd_watcher) and not leaked into other
  // children.
  EXPECT_NE(::fcntl(child.stdout_fd(), F_GETFL) & O_NONBLOCK, 0);
  EXPECT_NE(::fcntl(child.stdout_fd(), F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_EQ(read_to_eof(child.stdout_fd()), "hello\nworld\nno newline");
  EXPECT_EQ(reap(child), "exited with status 0");
  EXPECT_FALSE(child.running());
}

TEST(child_process_test, standard_input_is_empty) {
  // `cat` copies /dev/null: nothing, and it does not wait for a terminal.
  auto child = child_process::start("cat; echo done");
  EXPECT_EQ(read_to_eof(child.stdout_fd()), "done\n");
  EXPECT_EQ(reap(child), "exited with status 0");
}

TEST(child_process_test, try_reap_reports_the_exit_status) {
  auto child = child_process::start("exit 3");
  auto pid = child.pid();
  EXPECT_EQ(reap(child), "exited with status 3");
  EXPECT_FALSE(child.running());
  EXPECT_EQ(child.pid(), -1);
  // Reaped once: asking again reports nothing, and the pid is gone.
  EXPECT_EQ(child.try_reap(), std::nullopt);
  EXPECT_FALSE(stat_of(pid).has_value());
}

TEST(child_process_test, try_reap_reports_a_signal) {
  auto child = child_process::start("kill -9 $$");
  EXPECT_EQ(reap(child), "was killed by signal 9");
}

TEST(child_process_test, try_reap_returns_nothing_while_the_child_runs) {
  auto child = child_process::start("read x");  // stdin is /dev/null: exits at once
  EXPECT_EQ(reap(child), "exited with status 1");
  auto sleeper = child_process::start("exec sleep 100");
  EXPECT_EQ(sleeper.try_reap(), std::nullopt);
  EXPECT_TRUE(sleeper.running());
}

TEST(child_process_test, terminate_kills_a_sleep) {
  auto child = child_process::start("sleep 100");
  auto pgid = child.pid();
  ASSERT_TRUE(wait_until([&] { return group_has(pgid, {"sleep"}); }));
  auto members = group_members(pgid);
  auto started = clock_type::now();
  child.terminate();
  // sleep dies on SIGTERM: no need to wait for the SIGKILL fallback.
  EXPECT_LT(clock_type::now() - started, 1s);
  EXPECT_FALSE(child.running());
  EXPECT_EQ(child.stdout_fd(), -1);
  EXPECT_FALSE(stat_of(pgid).has_value()) << "the shell is reaped";
  for (const auto& p : members)
    EXPECT_TRUE(wait_until([&] { return !alive(p.pid); }))
      << p.comm << " (pid " << p.pid << ") survived terminate()";
  EXPECT_TRUE(group_members(pgid).empty());
}

TEST(child_process_test, terminate_kills_every_process_of_a_pipeline) {
  auto child = child_process::start("sleep 100 | cat");
  auto pgid = child.pid();
  // Both sides of the pipe run in the child's own process group.
  ASSERT_TRUE(wait_until([&] { return group_has(pgid, {"sleep", "cat"}); }))
    << "pipeline did not start";
  auto members = group_members(pgid);
  ASSERT_GE(members.size(), 2u);
  child.terminate();
  EXPECT_FALSE(child.running());
  for (const auto& p : members)
    EXPECT_TRUE(wait_until([&] { return !alive(p.pid); }))
      << p.comm << " (pid " << p.pid << ") survived terminate()";
  EXPECT_TRUE(group_members(pgid).empty());
}

TEST(child_process_test, terminate_kills_a_command_that_ignores_sigterm) {
  // The shell and its sleep ignore SIGTERM: terminate() insists with SIGKILL.
  auto child = child_process::start("trap '' TERM; sleep 100; echo never");
  auto pgid = child.pid();
  ASSERT_TRUE(wait_until([&] { return group_has(pgid, {"sleep"}); }));
  auto members = group_members(pgid);
  child.terminate();
  EXPECT_FALSE(child.running());
  for (const auto& p : members)
    EXPECT_TRUE(wait_until([&] { return !alive(p.pid); }))
      << p.comm << " (pid " << p.pid << ") survived terminate()";
}

TEST(child_process_test, terminate_kills_a_pipeline_member_that_outlives_the_shell) {
  // The shell and cat die on SIGTERM; the sleep ignores it. Reaping the shell
  // is not enough: terminate() must insist on the whole group.
  auto child = child_process::start("(trap '' TERM; exec sleep 100) | cat");
  auto pgid = child.pid();
  ASSERT_TRUE(wait_until([&] { return group_has(pgid, {"sleep", "cat"}); }))
    << "pipeline did not start";
  auto members = group_members(pgid);
  child.terminate();
  EXPECT_FALSE(child.running());
  for (const auto& p : members)
    EXPECT_TRUE(wait_until([&] { return !alive(p.pid); }))
      << p.comm << " (pid " << p.pid << ") survived terminate()";
  EXPECT_TRUE(group_members(pgid).empty());
}

TEST(child_process_test, the_destructor_terminates_the_child) {
  pid_t pgid = -1;
  std::vector<proc_stat> members;
  {
    auto child = child_process::start("sleep 100 | cat");
    pgid = child.pid();
    ASSERT_TRUE(wait_until([&] { return group_has(pgid, {"sleep", "cat"}); }));
    members = group_members(pgid);
  }
  for (const auto& p : members)
    EXPECT_TRUE(wait_until([&] { return !alive(p.pid); }))
      << p.comm << " (pid " << p.pid << ") survived the destructor";
}

TEST(child_process_test, move_assignment_terminates_the_replaced_child) {
  auto child = child_process::start("exec sleep 100");
  auto first = child.pid();
  ASSERT_TRUE(wait_until([&] { return group_has(first, {"sleep"}); }));
  child = child_process::start("echo second");
  EXPECT_TRUE(wait_until([&] { return !alive(first); }));
  EXPECT_EQ(read_to_eof(child.stdout_fd()), "second\n");
  EXPECT_EQ(reap(child), "exited with status 0");
}

// The agent blocks SIGTERM and SIGINT in its threads (a signal thread
// sigwaits for them) and ignores SIGPIPE; the child must start with a clean
// mask and default dispositions, or `sleep` would ignore the stop signal.
TEST(child_process_test, the_child_gets_a_default_signal_mask_and_dispositions) {
  auto old_pipe = std::signal(SIGPIPE, SIG_IGN);
  std::optional<child_process> child;
  std::thread starter([&] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &set, nullptr), 0);
    child = child_process::start("exec sleep 100");
  });
  starter.join();
  std::signal(SIGPIPE, old_pipe);
  ASSERT_TRUE(child.has_value());
  auto pid = child->pid();
  ASSERT_TRUE(wait_until([&] {
    auto p = stat_of(pid);
    return p && p->comm == "sleep";
  }));
  EXPECT_EQ(status_mask(pid, "SigBlk"), 0u);
  EXPECT_EQ(status_mask(pid, "SigIgn") & (bit(SIGTERM) | bit(SIGINT) | bit(SIGPIPE)), 0u);
  // And so a plain SIGTERM kills it (no SIGKILL from terminate()).
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  EXPECT_EQ(reap(*child), "was killed by signal 15");
}

TEST(child_process_test, a_failing_command_reports_through_its_exit_status) {
  auto child = child_process::start("exec /nonexistent/command 2>/dev/null");
  EXPECT_EQ(read_to_eof(child.stdout_fd()), "");
  EXPECT_EQ(reap(child), "exited with status 127");
}

} // namespace
} // namespace logpipe::test
