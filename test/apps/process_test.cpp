// The real monitor and worker processes: an exec input printing a numbered
// line every 50 ms into a stdout output. Foreground and daemon mode,
// SIGTERM/SIGINT, a killed worker being replaced, --start-once-for-env.

#include "test/support/process_helpers.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace logpipe::proc_test {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

const std::string binary = LOGPIPE_BINARY;

class process : public ::testing::Test {
protected:
  temp_dir dir{"logpipe-proc"};
  // Appears in the command line of the monitor, the worker and the exec
  // input's shell: how teardown finds whatever is left.
  const std::string marker = dir.path() + "/";
  const std::string log_file = dir.file("agent.log");
  const std::string out_file = dir.file("agent.out");
  const std::string err_file = dir.file("agent.err");
  const std::string pid_file = dir.file("agent.pid");
  std::optional<child> agent;

  // Filled in by start_foreground().
  pid_t monitor = -1;
  pid_t worker = -1;
  pid_t command = -1; // the exec input's shell, leader of its process group

  void TearDown() override {
    kill_marked(marker);
    agent.reset(); // kills its process group if it is still running, reaps it
    kill_marked(marker);
  }

  std::string config(bool with_pid_file = false) {
    auto path = dir.file("agent.toml");
    write_file(path, "[agent]\n"
                     "name = \"proc-test\"\n"
                     "data_dir = \"" + dir.file("data") + "\"\n"
                     + (with_pid_file ? "pid_file = \"" + pid_file + "\"\n" : "") +
                     "[log]\n"
                     "file = \"" + log_file + "\"\n"
                     "level = \"info\"\n"
                     "[[inputs]]\n"
                     "type = \"exec\"\n"
                     "name = \"ticker\"\n"
                     // A silent member of the command's process group: only the
                     // monitor ends it when a worker dies (no SIGPIPE reaches it).
                     "cmd = 'sh -c \"sleep 1000; :\" " + marker + " >/dev/null & "
                     "i=0; while :; do i=$((i+1)); echo line $i; sleep 0.05; done # "
                     + marker + "'\n"
                     "[[outputs]]\n"
                     "type = \"stdout\"\n");
    return path;
  }

  void start(std::vector<std::string> args) {
    args.insert(args.begin(), binary);
    agent.emplace(args, out_file, err_file);
  }

  std::vector<log_line> log() const {
    // A line not in the log's format keeps pid 0: see expect_log_is_well_formed.
    return read_log(log_file);
  }

  /// The pid in a message ending in "(pid N)" after `prefix`, or nothing.
  static std::optional<pid_t> pid_in(const std::string& text, const std::string& prefix) {
    const std::string open = "(pid ";
    auto at = text.rfind(open);
    if (text.rfind(prefix, 0) != 0 || at == std::string::npos || at < prefix.size()
        || text.back() != ')')
      return std::nullopt;
    return parse_pid(text.substr(at + open.size(), text.size() - 1 - at - open.size()));
  }

  bool log_has(pid_t pid, const std::string& level, const std::string& text) const {
    for (const auto& l : log())
      if (l.pid == pid && l.level == level && l.text == text)
        return true;
    return false;
  }

  std::size_t log_count(const std::string& text) const {
    std::size_t n = 0;
    for (const auto& l : log())
      n += l.text == text ? 1 : 0;
    return n;
  }

  void expect_log_is_well_formed() const {
    for (const auto& l : log())
      EXPECT_NE(l.pid, 0) << "log line not in the log's format: " << l.text;
  }

  /// Workers `monitor_pid` logged it started, in order.
  std::vector<pid_t> workers_started(pid_t monitor_pid) const {
    std::vector<pid_t> out;
    for (const auto& l : log())
      if (auto pid = pid_in(l.text, "started worker ");
          pid && l.pid == monitor_pid && l.level == "info" && l.text == "started worker (pid "
                                                                + std::to_string(*pid) + ")")
        out.push_back(*pid);
    return out;
  }

  /// The pid of the exec input's command as logged by `worker_pid`, or -1.
  pid_t command_of(pid_t worker_pid) const {
    for (const auto& l : log())
      if (auto pid = pid_in(l.text, "input ticker: running `");
          pid && l.pid == worker_pid && l.level == "info"
          && l.text.find("` (pid " + std::to_string(*pid) + ")") != std::string::npos)
        return *pid;
    return -1;
  }

  /// The lines the agent wrote to its standard output.
  std::vector<std::string> out_lines() const {
    return complete_lines(read_file(out_file));
  }

  /// Whether `lines`, from `first` on, are "line 1", "line 2", ... (at least `n`).
  static ::testing::AssertionResult numbered_from(const std::vector<std::string>& lines,
                                                  std::size_t first, std::size_t n) {
    if (lines.size() < first + n)
      return ::testing::AssertionFailure()
             << "only " << lines.size() - first << " lines, expected at least " << n;
    for (std::size_t i = first; i < lines.size(); ++i)
      if (lines[i] != "line " + std::to_string(i - first + 1))
        return ::testing::AssertionFailure()
               << "line " << i + 1 << " of the output is \"" << lines[i] << "\", expected \"line "
               << i - first + 1 << "\"";
    return ::testing::AssertionSuccess();
  }

  /// The index of the last "line 1" in the output, or nothing.
  std::optional<std::size_t> last_run_start() const {
    auto lines = out_lines();
    for (std::size_t i = lines.size(); i > 0; --i)
      if (lines[i - 1] == "line 1")
        return i - 1;
    return std::nullopt;
  }

  std::size_t runs_in_output() const {
    std::size_t n = 0;
    for (const auto& line : out_lines())
      n += line == "line 1" ? 1 : 0;
    return n;
  }

  /// The exec command's process group (it leads its own) has a live process.
  bool command_group_alive(pid_t leader) const {
    return !pids_in_group(leader).empty();
  }

  /// Checks the worker `w`: a live child of the monitor, and its command, a
  /// live child of the worker leading its own process group.
  void expect_worker_with_command(pid_t w, pid_t* cmd) {
    auto ws = stat_of(w);
    ASSERT_TRUE(ws && alive(w)) << "worker " << w << " is not running";
    EXPECT_EQ(ws->ppid, monitor) << "worker " << w << " is not the monitor's child";
    auto ms = stat_of(monitor);
    ASSERT_TRUE(ms) << "monitor " << monitor << " is gone";
    EXPECT_EQ(ws->pgrp, ms->pgrp) << "worker " << w << " is not in the monitor's process group";
    // The kernel's view of the monitor's children, where available.
    auto children_file = "/proc/" + std::to_string(monitor) + "/task/" + std::to_string(monitor)
                         + "/children";
    if (fs::exists(children_file)) {
      EXPECT_NE(read_file(children_file).find(std::to_string(w) + " "), std::string::npos)
        << children_file << ": " << read_file(children_file);
    }
    ASSERT_TRUE(wait_until([&] { return command_of(w) > 0; }))
      << "worker " << w << " did not log its command:\n" << read_file(log_file);
    *cmd = command_of(w);
    auto cs = stat_of(*cmd);
    ASSERT_TRUE(cs && alive(*cmd)) << "command " << *cmd << " is not running";
    EXPECT_EQ(cs->ppid, w) << "command " << *cmd << " is not the worker's child";
    EXPECT_EQ(cs->pgrp, *cmd) << "command " << *cmd << " does not lead its own process group";
    EXPECT_NE(cmdline_of(*cmd).find(marker), std::string::npos) << cmdline_of(*cmd);
  }

  /// Starts `logpipe --no-daemon` (plus `extra` options) and waits until its
  /// first worker is up and three lines have come through.
  void start_foreground(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--no-daemon", "-f", config()};
    args.insert(args.end(), extra.begin(), extra.end());
    start(args);
    monitor = agent->pid();
    ASSERT_TRUE(wait_until([&] { return out_lines().size() >= 3 || agent->ended(); }))
      << "no output from the agent within the deadline\n--- log:\n" << read_file(log_file)
      << "--- stderr:\n" << read_file(err_file);
    ASSERT_FALSE(agent->ended()) << "the agent ended: " << describe_wait_status(*agent->wait_exit(0ms))
                                 << "\n--- log:\n" << read_file(log_file)
                                 << "--- stderr:\n" << read_file(err_file);
    EXPECT_TRUE(numbered_from(out_lines(), 0, 3));
    auto workers = workers_started(monitor);
    ASSERT_EQ(workers.size(), 1u) << read_file(log_file);
    worker = workers[0];
    ASSERT_NE(worker, monitor);
    EXPECT_TRUE(log_has(worker, "notice", "agent proc-test started: 1 inputs, 1 outputs"))
      << read_file(log_file);
    ASSERT_NO_FATAL_FAILURE(expect_worker_with_command(worker, &command));
  }

  /// Sends `sig` to the monitor (or to its whole process group, as a
  /// terminal does) and checks that everything stops cleanly: exit status 0,
  /// no error from the worker, no worker, no command, no process left.
  void stop_with(int sig, bool whole_group = false) {
    if (whole_group) {
      auto ms = stat_of(monitor);
      ASSERT_TRUE(ms);
      ASSERT_EQ(ms->pgrp, monitor) << "the monitor does not lead its process group";
    }
    ASSERT_EQ(::kill(whole_group ? -monitor : monitor, sig), 0);
    auto status = agent->wait_exit();
    ASSERT_TRUE(status) << "the monitor did not exit within the deadline after signal " << sig
                        << "\n--- log:\n" << read_file(log_file);
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << "monitor " << describe_wait_status(*status) << "\n--- log:\n" << read_file(log_file)
      << "--- stderr:\n" << read_file(err_file);
    // The monitor reaps the worker before it exits: no waiting here.
    EXPECT_FALSE(alive(worker)) << "worker " << worker << " outlived the monitor";
    EXPECT_TRUE(log_has(monitor, "notice", "worker exited with status 0; monitor exits"))
      << read_file(log_file);
    for (const auto& l : log())
      EXPECT_FALSE(l.pid == worker && (l.level == "error" || l.level == "warn"))
        << "the worker logged during its shutdown: " << l.level << ": " << l.text;
    EXPECT_TRUE(wait_until([&] { return !command_group_alive(command); }))
      << "the exec command's process group is left: " << describe_pids(pids_in_group(command));
    EXPECT_TRUE(wait_until([&] { return pids_with_marker(marker).empty(); }))
      << "processes left: " << describe_pids(pids_with_marker(marker));
  }

  /// kill -9 of the current worker; waits for the monitor's next worker and
  /// checks it (different pid, child of the same monitor, started after the
  /// monitor's 1 s pause). Updates `worker` and `command`.
  void kill_worker_and_wait_for_the_next() {
    const pid_t old_worker = worker;
    const pid_t old_command = command;
    const auto before = workers_started(monitor).size();
    auto killed_at = clock_type::now();
    ASSERT_EQ(::kill(old_worker, SIGKILL), 0);
    ASSERT_TRUE(wait_until([&] { return workers_started(monitor).size() > before; }))
      << "no new worker within the deadline\n--- log:\n" << read_file(log_file);
    auto waited = clock_type::now() - killed_at;
    EXPECT_GE(waited, milliseconds(950)) << "the monitor did not wait 1 s before restarting";
    auto workers = workers_started(monitor);
    ASSERT_EQ(workers.size(), before + 1) << read_file(log_file);
    worker = workers.back();
    EXPECT_NE(worker, old_worker);
    EXPECT_FALSE(alive(old_worker));
    EXPECT_TRUE(log_has(monitor, "error",
                        "worker was killed by signal 9; starting a new one in 1000 ms"))
      << read_file(log_file);
    ASSERT_NO_FATAL_FAILURE(expect_worker_with_command(worker, &command));
    EXPECT_NE(command, old_command);
    // The old command ends, its silent background member too (the monitor
    // ends what a dead worker leaves behind).
    EXPECT_TRUE(wait_until([&] { return !command_group_alive(old_command); }))
      << "the killed worker's command is left: " << describe_pids(pids_in_group(old_command));
  }
};

TEST_F(process, foreground_agent_ships_lines_and_stops_on_sigterm) {
  ASSERT_NO_FATAL_FAILURE(start_foreground());
  // It keeps flowing.
  auto seen = out_lines().size();
  ASSERT_TRUE(wait_until([&] { return out_lines().size() >= seen + 3; }))
    << "the output stopped growing at " << out_lines().size() << " lines";
  ASSERT_NO_FATAL_FAILURE(stop_with(SIGTERM));
  EXPECT_TRUE(log_has(worker, "notice", "received SIGTERM")) << read_file(log_file);
  EXPECT_TRUE(log_has(worker, "notice", "stopped; every block delivered")) << read_file(log_file);
  // Every line once, in order, none lost or repeated.
  EXPECT_TRUE(numbered_from(out_lines(), 0, 6));
  expect_log_is_well_formed();
  EXPECT_EQ(read_file(err_file), "");
  EXPECT_TRUE(fs::is_directory(dir.file("data")));
}

TEST_F(process, sigint_stops_the_agent_like_sigterm) {
  ASSERT_NO_FATAL_FAILURE(start_foreground());
  ASSERT_NO_FATAL_FAILURE(stop_with(SIGINT));
  // The monitor passes it on to the worker as SIGTERM.
  EXPECT_TRUE(log_has(worker, "notice", "received SIGTERM")) << read_file(log_file);
  EXPECT_TRUE(numbered_from(out_lines(), 0, 3));
  EXPECT_EQ(read_file(err_file), "");
}

TEST_F(process, ctrl_c_in_a_terminal_stops_the_agent_cleanly) {
  ASSERT_NO_FATAL_FAILURE(start_foreground());
  // A terminal sends SIGINT to its whole foreground process group: the
  // worker gets it directly and once more, as SIGTERM, from the monitor.
  ASSERT_NO_FATAL_FAILURE(stop_with(SIGINT, /*whole_group=*/true));
  EXPECT_TRUE(log_has(worker, "notice", "received SIGINT")) << read_file(log_file);
  EXPECT_EQ(log_count("stopped; every block delivered"), 1u) << read_file(log_file);
  EXPECT_TRUE(numbered_from(out_lines(), 0, 3));
  EXPECT_EQ(read_file(err_file), "");
}

TEST_F(process, killed_worker_is_replaced_and_lines_keep_coming) {
  ASSERT_NO_FATAL_FAILURE(start_foreground());
  const pid_t first_worker = worker;
  ASSERT_NO_FATAL_FAILURE(kill_worker_and_wait_for_the_next());
  EXPECT_NE(worker, first_worker);
  // The new worker's command starts again at "line 1", and lines keep coming.
  ASSERT_TRUE(wait_until([&] {
    auto start = last_run_start();
    return runs_in_output() == 2 && start && out_lines().size() >= *start + 3;
  })) << "no new lines after the restart:\n" << read_file(out_file);
  EXPECT_TRUE(numbered_from(out_lines(), *last_run_start(), 3));
  ASSERT_NO_FATAL_FAILURE(stop_with(SIGTERM));
  EXPECT_EQ(runs_in_output(), 2u);
  EXPECT_EQ(workers_started(monitor).size(), 2u);
}

TEST_F(process, start_once_env_reaches_only_the_first_worker) {
  const std::string passing = "first start: passing start_once_for_full_dose=1 to the components";
  ASSERT_NO_FATAL_FAILURE(
    start_foreground({"--start-once-for-env", "start_once_for_full_dose 1"}));
  const pid_t first_worker = worker;
  ASSERT_TRUE(wait_until([&] { return log_has(first_worker, "notice", passing); }))
    << read_file(log_file);
  ASSERT_NO_FATAL_FAILURE(kill_worker_and_wait_for_the_next());
  const pid_t second_worker = worker;
  ASSERT_TRUE(wait_until([&] {
    return log_has(second_worker, "notice", "agent proc-test started: 1 inputs, 1 outputs");
  })) << read_file(log_file);
  // The worker logs the start-once values before it even listens for
  // signals: once it has exited, its log is complete.
  ASSERT_NO_FATAL_FAILURE(stop_with(SIGTERM));
  EXPECT_EQ(log_count(passing), 1u) << read_file(log_file);
  EXPECT_TRUE(log_has(first_worker, "notice", passing));
  EXPECT_FALSE(log_has(second_worker, "notice", passing)) << read_file(log_file);
}

TEST_F(process, daemon_detaches_writes_pid_file_and_stops_on_sigterm) {
  start({"-f", config(/*with_pid_file=*/true)});
  // The command itself returns at once.
  auto status = agent->wait_exit();
  ASSERT_TRUE(status) << "logpipe without --no-daemon did not return";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << describe_wait_status(*status);
  EXPECT_EQ(read_file(out_file), "");
  EXPECT_EQ(read_file(err_file), "");

  // One line: the daemon's pid.
  std::optional<pid_t> daemon_pid;
  ASSERT_TRUE(wait_until([&] {
    auto text = read_file(pid_file);
    if (text.empty() || text.back() != '\n')
      return false;
    daemon_pid = parse_pid(text.substr(0, text.size() - 1));
    return daemon_pid.has_value();
  })) << "no pid file " << pid_file << " (content: \"" << read_file(pid_file) << "\")\n--- log:\n"
      << read_file(log_file);
  monitor = *daemon_pid;
  ASSERT_GT(monitor, 1);
  ASSERT_TRUE(alive(monitor)) << "the pid file names " << monitor << ", which is not running";
  EXPECT_NE(monitor, agent->pid()) << "did not fork";
  EXPECT_NE(cmdline_of(monitor).find(marker), std::string::npos) << cmdline_of(monitor);
  auto ds = stat_of(monitor);
  ASSERT_TRUE(ds);
  EXPECT_NE(ds->ppid, ::getpid()) << "the daemon is still the test's child";
  EXPECT_NE(::getsid(monitor), ::getsid(0)) << "the daemon is in the test's session";
  EXPECT_EQ(::getsid(monitor), ds->session);
  // Double fork: neither session nor process group leader.
  EXPECT_NE(ds->session, monitor);
  EXPECT_NE(ds->pgrp, monitor);
  EXPECT_EQ(fs::read_symlink("/proc/" + std::to_string(monitor) + "/cwd"), fs::path("/"));

  // Its stdout is /dev/null: the log tells that the worker is up.
  ASSERT_TRUE(wait_until([&] { return !workers_started(monitor).empty(); }))
    << read_file(log_file);
  worker = workers_started(monitor).front();
  ASSERT_TRUE(wait_until([&] {
    return log_has(worker, "notice", "agent proc-test started: 1 inputs, 1 outputs");
  })) << read_file(log_file);
  ASSERT_NO_FATAL_FAILURE(expect_worker_with_command(worker, &command));

  ASSERT_EQ(::kill(monitor, SIGTERM), 0);
  // Not our child: watch it go (a zombie counts as gone) and its pid file with it.
  EXPECT_TRUE(wait_until([&] { return !alive(monitor) && !fs::exists(pid_file); }))
    << "daemon " << monitor << (alive(monitor) ? " still running" : " gone")
    << ", pid file " << (fs::exists(pid_file) ? "still there" : "removed") << "\n--- log:\n"
    << read_file(log_file);
  EXPECT_TRUE(log_has(monitor, "notice", "worker exited with status 0; monitor exits"))
    << read_file(log_file);
  EXPECT_FALSE(alive(worker));
  EXPECT_TRUE(wait_until([&] { return !command_group_alive(command); }))
    << describe_pids(pids_in_group(command));
  EXPECT_TRUE(wait_until([&] { return pids_with_marker(marker).empty(); }))
    << "processes left: " << describe_pids(pids_with_marker(marker));
  expect_log_is_well_formed();
}

} // namespace
} // namespace logpipe::proc_test
