#pragma once

// One logpipe agent run as a real process for tests with several agents:
// `logpipe --no-daemon -f <dir>/<name>.toml`, its own log in
// <dir>/<name>.log, stdout and stderr in <dir>/<name>.out / .err. The
// config file's path is in the command line of its monitor and worker, so
// the agent's processes can be found (and killed) by it.

#include "test/support/process_helpers.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>

namespace logpipe::proc_test {

class agent_process {
public:
  agent_process(const temp_dir& dir, std::string name)
    : dir_(dir), name_(std::move(name)) {}

  ~agent_process() { kill(); }

  const std::string& name() const { return name_; }
  std::string config_file() const { return dir_.file(name_ + ".toml"); }
  std::string log_file() const { return dir_.file(name_ + ".log"); }
  std::string err_file() const { return dir_.file(name_ + ".err"); }

  /// Writes the configuration: [agent] and [log] sections for this agent,
  /// then `components` (its [[inputs]] and [[outputs]] tables).
  void configure(const std::string& components) const {
    write_file(config_file(), "[agent]\n"
                              "name = \"" + name_ + "\"\n"
                              "data_dir = \"" + dir_.file(name_ + "-data") + "\"\n"
                              "shutdown_grace = \"10s\"\n"
                              "[log]\n"
                              "file = \"" + log_file() + "\"\n"
                              "level = \"info\"\n"
                              + components);
  }

  /// Starts it and waits until its log has one more line containing
  /// `ready` (e.g. "listening on", "watching").
  ::testing::AssertionResult start(const std::string& ready) {
    const auto before = log_count(ready);
    process_.emplace(std::vector<std::string>{LOGPIPE_BINARY, "--no-daemon", "-f",
                                              config_file()},
                     dir_.file(name_ + ".out"), err_file());
    if (!wait_until([&] { return log_count(ready) > before || process_->ended(); }))
      return ::testing::AssertionFailure() << name_ << " is not ready:\n" << describe();
    if (process_->ended())
      return ::testing::AssertionFailure() << name_ << " ended:\n" << describe();
    return ::testing::AssertionSuccess();
  }

  /// SIGTERM to the monitor; succeeds if it exits with 0 in time.
  ::testing::AssertionResult stop() {
    if (!process_)
      return ::testing::AssertionFailure() << name_ << " is not running";
    ::kill(process_->pid(), SIGTERM);
    auto status = process_->wait_exit(30s);
    process_.reset();
    if (!status)
      return ::testing::AssertionFailure() << name_ << " did not stop:\n" << describe();
    if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0)
      return ::testing::AssertionFailure()
             << name_ << ": " << describe_wait_status(*status) << "\n" << describe();
    return ::testing::AssertionSuccess();
  }

  /// SIGKILL to the monitor and the worker: the agent is gone at once, as
  /// if its host died.
  void kill() {
    kill_marked(config_file());
    process_.reset();
  }

  bool running() { return process_ && !process_->ended(); }

  std::size_t log_count(const std::string& part) const {
    std::size_t n = 0;
    for (const auto& l : read_log(log_file()))
      n += l.text.find(part) != std::string::npos ? 1 : 0;
    return n;
  }

  /// The log lines of `level` ("warn", "error").
  std::vector<std::string> log_lines(const std::string& level) const {
    std::vector<std::string> out;
    for (const auto& l : read_log(log_file()))
      if (l.level == level)
        out.push_back(l.text);
    return out;
  }

  /// The source offset up to which its file input `input` has `file`
  /// acknowledged, as the input's checkpoint file holds it (0 if none).
  std::uint64_t checkpoint_of(const std::string& input, const std::string& file) const {
    auto text = read_file(dir_.file(name_ + "-data/file-input-" + input + ".checkpoints"));
    for (const auto& line : complete_lines(text)) {
      // <device> <inode> <prefix_length> <prefix_hash> <source_id> <offset> <name>
      std::istringstream in(line);
      std::string fields[7];
      for (auto& f : fields)
        in >> f;
      if (fields[6] == file)
        return std::stoull(fields[5]);
    }
    return 0;
  }

  /// Its log and stderr, for failure messages.
  std::string describe() const {
    return "--- " + name_ + " log:\n" + read_file(log_file()) + "--- " + name_
           + " stderr:\n" + read_file(err_file());
  }

private:
  const temp_dir& dir_;
  std::string name_;
  std::optional<child> process_;
};

} // namespace logpipe::proc_test
