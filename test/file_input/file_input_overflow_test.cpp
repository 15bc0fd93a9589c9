// The file input when the kernel's inotify queue overflows: the watcher lists
// the folder again and loses nothing. The worker is stopped while more files
// appear than the queue holds (fs.inotify.max_queued_events, 16,384 by
// default: each new file makes two events).

#include "test/support/proc_scan.hpp"
#include "test/support/process_helpers.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <map>

namespace logpipe::proc_test {
namespace {

TEST(file_input_overflow, a_queue_overflow_rescans_and_loses_nothing) {
  temp_dir dir{"logpipe-overflow"};
  const auto logs = dir.file("logs");
  std::filesystem::create_directory(logs);
  const auto log_file = dir.file("agent.log");
  const auto out_file = dir.file("agent.out");
  write_file(dir.file("agent.toml"), "[agent]\ndata_dir = \"" + dir.file("data") + "\"\n"
                                     "[log]\nfile = \"" + log_file + "\"\n"
                                     "[[inputs]]\ntype = \"file\"\npath = \"" + logs + "\"\n"
                                     "[[outputs]]\ntype = \"stdout\"\n");
  child agent{{LOGPIPE_BINARY, "-f", dir.file("agent.toml"), "--no-daemon"}, out_file,
              dir.file("agent.err")};
  ASSERT_TRUE(wait_until([&] { return count_of(read_file(log_file), "watching") == 1; }))
    << read_file(log_file);
  int queue = 16384;
  std::ifstream{"/proc/sys/fs/inotify/max_queued_events"} >> queue;
  auto workers = children_of(agent.pid());
  ASSERT_EQ(workers.size(), 1u);
  const pid_t worker = workers.front();
  ::kill(worker, SIGSTOP);
  const std::size_t files = static_cast<std::size_t>(queue) / 2 + 100;
  std::uintmax_t expected_bytes = 0;
  for (std::size_t i = 0; i < files; ++i) {
    auto line = "line of file " + std::to_string(i) + "\n";
    write_file(logs + "/f" + std::to_string(i) + ".log", line);
    expected_bytes += line.size();
  }
  ::kill(worker, SIGCONT);
  auto shipped = [&] {
    std::error_code ec;
    auto size = std::filesystem::file_size(out_file, ec);
    return ec ? 0 : size;
  };
  ASSERT_TRUE(wait_until([&] { return shipped() >= expected_bytes; }, 60s))
    << shipped() << " of " << expected_bytes << " bytes\n" << read_file(log_file);
  std::map<std::string, int> seen;
  for (const auto& line : complete_lines(read_file(out_file)))
    ++seen[line];
  EXPECT_EQ(seen.size(), files);
  EXPECT_EQ(count_of(read_file(out_file), "\n"), files);
  for (const auto& [line, n] : seen)
    ASSERT_EQ(n, 1) << line;
  EXPECT_GE(count_of(read_file(log_file), "inotify queue overflowed"), 1u) << read_file(log_file);
  ::kill(agent.pid(), SIGTERM);
  auto status = agent.wait_exit();
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
}

} // namespace
} // namespace logpipe::proc_test
