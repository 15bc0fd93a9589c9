#include "apps/monitor.hpp"

#include "actors/core/logging.hpp"
#include "actors/shared/child_process.hpp"
#include "apps/worker.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <thread>
#include <vector>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace logpipe {

namespace {

using std::chrono::seconds;

constexpr auto first_backoff = seconds(1);
constexpr auto max_backoff = seconds(60);
// A worker that ran this long before dying is restarted after first_backoff.
constexpr auto stable_run = seconds(60);

// Double fork: no controlling terminal, not a process group leader, stdio on
// /dev/null. Returns only in the daemon.
void daemonize() {
  if (auto pid = fork(); pid < 0)
    throw std::runtime_error(std::string{"fork: "} + std::strerror(errno));
  else if (pid > 0)
    _exit(0);
  setsid();
  if (auto pid = fork(); pid < 0)
    throw std::runtime_error(std::string{"fork: "} + std::strerror(errno));
  else if (pid > 0)
    _exit(0);
  umask(027);
  if (chdir("/") != 0)
    log::warn("chdir /: {}", std::strerror(errno));
  int null_fd = open("/dev/null", O_RDWR);
  if (null_fd >= 0) {
    dup2(null_fd, STDIN_FILENO);
    dup2(null_fd, STDOUT_FILENO);
    dup2(null_fd, STDERR_FILENO);
    if (null_fd > STDERR_FILENO)
      close(null_fd);
  }
}

sigset_t monitored_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGCHLD);
  return set;
}

pid_t start_worker(const config::agent_config& config, const component_registry& registry,
                   const std::map<std::string, std::string>& start_once) {
  pid_t monitor = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    log::error("cannot fork the worker: {}", std::strerror(errno));
    return pid;
  }
  if (pid == 0) {
    // The worker must not outlive its monitor.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != monitor)
      _exit(0);
    prctl(PR_SET_NAME, "logpipe-worker");
    int code = run_worker(config, registry, start_once);
    std::fflush(nullptr);
    _exit(code);
  }
  log::info("started worker (pid {})", pid);
  return pid;
}

// Waits for a signal for at most `timeout` (forever if negative).
int wait_signal(const sigset_t& set, std::chrono::milliseconds timeout) {
  for (;;) {
    int sig;
    if (timeout.count() < 0) {
      if (sigwait(&set, &sig) == 0)
        return sig;
      continue;
    }
    timespec ts{static_cast<time_t>(timeout.count() / 1000),
                static_cast<long>(timeout.count() % 1000) * 1000000};
    sig = sigtimedwait(&set, nullptr, &ts);
    if (sig >= 0 || errno == EAGAIN)
      return sig;
  }
}

// Reaps every exited child; true if `worker` was one of them.
bool reap_children(pid_t worker, int& worker_status) {
  bool worker_exited = false;
  int status = 0;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
    if (pid == worker) {
      worker_exited = true;
      worker_status = status;
    }
  return worker_exited;
}

std::vector<pid_t> children() {
  std::vector<pid_t> result;
  std::ifstream list{"/proc/self/task/" + std::to_string(getpid()) + "/children"};
  for (pid_t pid; list >> pid;)
    result.push_back(pid);
  return result;
}

// The commands a dead worker ran (exec inputs) were re-parented to us, the
// subreaper: end them, and their process groups, so none outlives its worker.
void end_orphans() {
  auto orphans = children();
  if (orphans.empty())
    return;
  log::notice("ending {} processes the dead worker left behind", orphans.size());
  for (auto pid : orphans) {
    kill(-pid, SIGTERM);
    kill(pid, SIGTERM);
  }
  int ignored;
  auto deadline = std::chrono::steady_clock::now() + seconds(1);
  while (!children().empty() && std::chrono::steady_clock::now() < deadline) {
    reap_children(0, ignored);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (auto pid : children()) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
  }
  while (!children().empty()) {
    reap_children(0, ignored);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

} // namespace

int run_monitor(const config::agent_config& config, const component_registry& registry,
                const cli_options& opts) {
  auto set = monitored_signals();
  // Blocked here and in the worker (inherited): both take them with sigwait.
  sigprocmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  if (!opts.no_daemon)
    daemonize();
  // Orphans of the worker (its commands) become our children, not init's.
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  const auto& pid_file = config.agent.pid_file;
  if (!pid_file.empty())
    std::ofstream{pid_file} << getpid() << '\n';
  auto backoff = std::chrono::duration_cast<std::chrono::milliseconds>(first_backoff);
  auto start_once = opts.start_once;
  int exit_code = 0;
  for (;;) {
    auto started = std::chrono::steady_clock::now();
    pid_t worker = start_worker(config, registry, start_once);
    start_once.clear(); // first start only
    bool stopping = false;
    int status = 0;
    while (worker > 0) {
      int sig = wait_signal(set, std::chrono::milliseconds(-1));
      if (sig == SIGTERM || sig == SIGINT) {
        stopping = true;
        kill(worker, SIGTERM);
      } else if (sig == SIGCHLD && reap_children(worker, status)) {
        break;
      }
    }
    end_orphans();
    if (stopping || (worker > 0 && WIFEXITED(status)
                     && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 2))) {
      exit_code = worker > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : 1;
      if (worker > 0)
        log::notice("worker {}; monitor exits", describe_wait_status(status));
      break;
    }
    if (std::chrono::steady_clock::now() - started >= stable_run)
      backoff = first_backoff;
    log::error("worker {}; starting a new one in {} ms",
               worker > 0 ? describe_wait_status(status) : "could not start", backoff.count());
    // Sleep through the backoff unless told to stop.
    auto sig = wait_signal(set, backoff);
    while (sig == SIGCHLD)
      sig = wait_signal(set, backoff);
    if (sig == SIGTERM || sig == SIGINT) {
      exit_code = 0;
      break;
    }
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, max_backoff);
  }
  if (!pid_file.empty())
    unlink(pid_file.c_str());
  return exit_code;
}

} // namespace logpipe
