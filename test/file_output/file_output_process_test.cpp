// The file output of a real aggregator whose disk fails, fed by a real
// collector over caf and over tcp: a full disk (a small tmpfs) and a disk
// that turns read-only hold the stream back, visibly, and it resumes by
// itself once the cause is gone, with no line lost, none written twice, and
// the collector's checkpoint never past what the aggregator wrote. A name
// that is taken by a folder is refused and stops no other stream.

#include "test/support/agent_process.hpp"
#include "test/support/loopback.hpp"
#include "test/support/numbered_lines.hpp"
#include "test/support/small_tmpfs.hpp"

#include <gtest/gtest.h>

#include <sys/mount.h>

#include <filesystem>
#include <sstream>
#include <string>

namespace logpipe::proc_test {
namespace {

namespace fs = std::filesystem;
using logpipe::test::free_port;
using logpipe::test::small_tmpfs;

constexpr auto transfer_timeout = 60s;
constexpr std::size_t mib = 1u << 20;
constexpr std::size_t line_count = 100 * 1000; // about 10 MiB

class file_output_faults : public ::testing::Test {
protected:
  temp_dir dir{"logpipe-fo"};
  const std::string logs = dir.file("logs");
  const std::string received = dir.file("received");
  agent_process aggregator{dir, "aggregator"};
  agent_process collector{dir, "collector"};

  void SetUp() override { fs::create_directories(logs); }

  static std::string file_input(const std::string& folder, const std::string& files = "*.log") {
    return "[[inputs]]\ntype = \"file\"\nname = \"logs\"\npath = \"" + folder
           + "\"\nfiles = [\"" + files + "\"]\nread_from_head = true\nline_mode = true\n";
  }

  std::string file_output(const std::string& layout) const {
    return "[[outputs]]\ntype = \"file\"\npath = \"" + received + "\"\nlayout = \"" + layout
           + "\"\nretry_interval = \"200ms\"\n";
  }

  /// Starts an aggregator (a `link` input: "caf" or "tcp", into a file
  /// output of `layout`), then a collector watching `logs` for `files`.
  ::testing::AssertionResult start_pair(const std::string& link, const std::string& layout,
                                        const std::string& files = "*.log") {
    const auto address = "127.0.0.1:" + std::to_string(free_port());
    aggregator.configure("[[inputs]]\ntype = \"" + link + "\"\nlisten = \"" + address + "\"\n"
                         + file_output(layout));
    if (auto started = aggregator.start("listening on"); !started)
      return started;
    collector.configure(file_input(logs, files) + "[[outputs]]\ntype = \"" + link + "\"\n"
                        + (link == "caf" ? "connect = \"" + address + "\"\n"
                                         : "endpoints = [\"" + address + "\"]\n"));
    return collector.start(link == "caf" ? "linked to" : "watching");
  }

  /// Waits until `path` holds every line of the stream at least once.
  ::testing::AssertionResult all_arrived(const std::string& path) {
    if (wait_until([&] { return test::tally_lines(read_file(path), "app", line_count).lost == 0; },
                   transfer_timeout))
      return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << collector.describe() << aggregator.describe();
  }

  static ::testing::AssertionResult lines_exactly_once(const std::string& path) {
    auto tally = test::tally_lines(read_file(path), "app", line_count);
    if (tally.lost == 0 && tally.duplicated == 0 && tally.damaged == 0)
      return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << path << ": " << tally.lost << " lines lost, " << tally.duplicated
           << " duplicated, " << tally.damaged << " damaged of " << line_count;
  }
};

TEST_F(file_output_faults, a_full_disk_holds_a_caf_stream_back_and_it_resumes_when_space_is_freed) {
  small_tmpfs disk(received, 16 * mib);
  if (!disk.mounted())
    GTEST_SKIP() << disk.why_not();
  // 4 MiB left: the 10 MiB stream fills the disk.
  write_file(received + "/filler", std::string(12 * mib, 'x'));
  ASSERT_TRUE(start_pair("caf", "by_origin"));
  write_file(logs + "/app.log", test::numbered_lines("app", 0, line_count));
  const auto out = received + "/collector/app.log";
  ASSERT_TRUE(wait_until([&] { return aggregator.log_count("holding this block") > 0; },
                         transfer_timeout))
    << aggregator.describe();
  // Held, and retried: more errors come, and the output is not given up.
  ASSERT_TRUE(wait_until([&] { return aggregator.log_count("still failing") >= 3; }))
    << aggregator.describe();
  EXPECT_EQ(aggregator.log_count("giving up"), 0u);
  // Nothing is acknowledged past what the aggregator's file holds.
  EXPECT_LE(collector.checkpoint_of("logs", "app.log"), size_of(out));
  EXPECT_LT(size_of(out), 10 * mib);
  fs::remove(received + "/filler");
  ASSERT_TRUE(all_arrived(out));
  ASSERT_TRUE(collector.stop());
  ASSERT_TRUE(aggregator.stop());
  EXPECT_TRUE(lines_exactly_once(out));
  EXPECT_EQ(aggregator.log_count("writing again"), 1u) << aggregator.describe();
}

TEST_F(file_output_faults, a_read_only_disk_holds_a_tcp_stream_back_and_it_resumes_when_writable) {
  small_tmpfs disk(received, 64 * mib);
  if (!disk.mounted())
    GTEST_SKIP() << disk.why_not();
  ASSERT_EQ(::mount(nullptr, received.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr), 0);
  ASSERT_TRUE(start_pair("tcp", "flat"));
  write_file(logs + "/app.log", test::numbered_lines("app", 0, line_count));
  ASSERT_TRUE(wait_until([&] { return aggregator.log_count("still failing") >= 3; },
                         transfer_timeout))
    << aggregator.describe();
  EXPECT_EQ(aggregator.log_count("giving up"), 0u);
  ASSERT_EQ(::mount(nullptr, received.c_str(), nullptr, MS_REMOUNT, nullptr), 0);
  const auto out = received + "/app.log";
  ASSERT_TRUE(all_arrived(out));
  ASSERT_TRUE(collector.stop());
  ASSERT_TRUE(aggregator.stop());
  EXPECT_TRUE(lines_exactly_once(out));
}

TEST_F(file_output_faults, a_name_taken_by_a_folder_is_refused_and_every_other_stream_goes_on) {
  fs::create_directories(received + "/lost+found");
  ASSERT_TRUE(start_pair("tcp", "flat", "*"));
  write_file(logs + "/lost+found", test::numbered_lines("lost", 0, 1000));
  write_file(logs + "/app.log", test::numbered_lines("app", 0, line_count));
  const auto out = received + "/app.log";
  ASSERT_TRUE(all_arrived(out));
  ASSERT_TRUE(collector.stop());
  ASSERT_TRUE(aggregator.stop());
  EXPECT_TRUE(lines_exactly_once(out));
  EXPECT_TRUE(fs::is_empty(received + "/lost+found"));
  EXPECT_EQ(aggregator.log_count("refused \"lost+found\""), 1u) << aggregator.describe();
  EXPECT_EQ(aggregator.log_count("crashed"), 0u) << aggregator.describe();
}

} // namespace
} // namespace logpipe::proc_test
