// The file input when the kernel's inotify queue overflows: the watcher lists
// the folder again and loses nothing. The queue of the agent's inotify
// instance is made tiny (fs.inotify.max_queued_events applies to instances
// created afterwards) and the worker is stopped while files appear.

#include "process_helpers.hpp"
#include "proc_scan.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <map>

namespace logpipe::proc_test {
namespace {

const std::string queue_limit_file = "/proc/sys/fs/inotify/max_queued_events";

// Sets the kernel's inotify queue limit for new instances; restores it.
class queue_limit {
public:
  explicit queue_limit(int events) {
    std::ifstream in{queue_limit_file};
    in >> old_;
    std::ofstream out{queue_limit_file};
    ok_ = in && (out << events << '\n') && out.flush();
  }
  ~queue_limit() { restore(); }
  void restore() {
    if (old_ > 0)
      std::ofstream{queue_limit_file} << old_ << '\n';
    old_ = 0;
  }
  bool ok() const { return ok_; }

private:
  int old_ = 0;
  bool ok_ = false;
};

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
  std::optional<child> agent;
  {
    queue_limit tiny{8};
    if (!tiny.ok())
      GTEST_SKIP() << "cannot set " << queue_limit_file;
    agent.emplace(std::vector<std::string>{LOGPIPE_BINARY, "-f", dir.file("agent.toml"),
                                           "--no-daemon"},
                  out_file, dir.file("agent.err"));
    // Once the input watches, its instance has the small queue.
    ASSERT_TRUE(wait_until([&] { return count_of(read_file(log_file), "watching") == 1; }))
      << read_file(log_file);
  }
  auto workers = children_of(agent->pid());
  ASSERT_EQ(workers.size(), 1u);
  const pid_t worker = workers.front();
  ::kill(worker, SIGSTOP);
  constexpr int files = 200;
  for (int i = 0; i < files; ++i)
    write_file(logs + "/f" + std::to_string(i) + ".log", "line of file " + std::to_string(i) + "\n");
  ::kill(worker, SIGCONT);
  ASSERT_TRUE(wait_until([&] { return complete_lines(read_file(out_file)).size() >= files; }))
    << complete_lines(read_file(out_file)).size() << " lines\n" << read_file(log_file);
  std::map<std::string, int> seen;
  for (const auto& line : complete_lines(read_file(out_file)))
    ++seen[line];
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(files));
  for (const auto& [line, n] : seen)
    EXPECT_EQ(n, 1) << line;
  EXPECT_GE(count_of(read_file(log_file), "inotify queue overflowed"), 1u) << read_file(log_file);
  ::kill(agent->pid(), SIGTERM);
  auto status = agent->wait_exit();
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
}

} // namespace
} // namespace logpipe::proc_test
