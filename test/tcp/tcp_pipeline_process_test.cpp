// Collectors and aggregators as real processes on loopback, the C original's
// first use case: file input -> tcp output -> tcp input -> file output.

#include "test/support/agent_process.hpp"
#include "test/support/loopback.hpp"
#include "test/support/numbered_lines.hpp"

#include "actors/tcp/wire.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

namespace logpipe::proc_test {
namespace {

namespace fs = std::filesystem;
using logpipe::test::client_socket;
using logpipe::test::free_port;
using logpipe::test::numbered_lines;
using logpipe::test::numbered_text;

constexpr auto transfer_timeout = 20s; // 100 MiB in the sanitizer build

/// The line numbers found in `text` for `stream`; sets `damaged` to the
/// first line that is not one numbered_lines() writes.
std::set<std::size_t> line_numbers(const std::string& text, const std::string& stream,
                                   std::string& damaged) {
  std::set<std::size_t> numbers;
  for (const auto& line : complete_lines(text)) {
    std::size_t n = 0;
    if (line.rfind(stream + " ", 0) != 0
        || std::sscanf(line.c_str() + stream.size() + 1, "%zu", &n) != 1
        || numbered_lines(stream, n, 1) != line + "\n") {
      if (damaged.empty())
        damaged = line.empty() ? "(an empty line)" : line;
      continue;
    }
    numbers.insert(n);
  }
  return numbers;
}

class tcp_pipeline : public ::testing::Test {
protected:
  temp_dir dir{"logpipe-tp"};
  const std::string logs = dir.file("logs");

  void SetUp() override { fs::create_directories(logs); }

  static std::string tcp_input(std::uint16_t port, const std::string& extra = "") {
    return "[[inputs]]\ntype = \"tcp\"\nlisten = \"127.0.0.1:" + std::to_string(port)
           + "\"\n" + extra;
  }

  static std::string file_output(const std::string& path, const std::string& extra = "") {
    return "[[outputs]]\ntype = \"file\"\npath = \"" + path + "\"\n" + extra;
  }

  static std::string file_input(const std::string& path, const std::string& extra = "") {
    return "[[inputs]]\ntype = \"file\"\nname = \"logs\"\npath = \"" + path
           + "\"\nfiles = [\"*.log\"]\n" + extra;
  }

  static std::string tcp_output(const std::vector<std::uint16_t>& ports,
                                const std::string& extra = "") {
    std::string list;
    for (auto port : ports)
      list += (list.empty() ? "\"" : ", \"") + std::string("127.0.0.1:")
              + std::to_string(port) + "\"";
    return "[[outputs]]\ntype = \"tcp\"\nendpoints = [" + list + "]\n" + extra;
  }

  /// Drops `text` into the watched folder as `name`, written whole first
  /// elsewhere (the benchmarks' copy mode).
  void drop_file(const std::string& name, const std::string& text) {
    auto staging = dir.file(name + ".staging");
    write_file(staging, text);
    fs::rename(staging, logs + "/" + name);
  }

  static bool wait_for_size(const std::string& path, std::uint64_t size,
                            std::chrono::milliseconds timeout = transfer_timeout) {
    return wait_until([&] {
      std::error_code ec;
      auto n = fs::file_size(path, ec);
      return !ec && n >= size;
    }, timeout);
  }
};

TEST_F(tcp_pipeline, moves_100_mib_byte_identical) {
  auto port = free_port();
  agent_process aggregator(dir, "aggregator");
  aggregator.configure(tcp_input(port) + file_output(dir.file("received")));
  ASSERT_TRUE(aggregator.start("listening on"));
  agent_process collector(dir, "collector");
  collector.configure(file_input(logs) + tcp_output({port}));
  ASSERT_TRUE(collector.start("watching"));
  auto text = numbered_text("big", 100u << 20);
  drop_file("big.log", text);
  ASSERT_TRUE(wait_for_size(dir.file("received/big.log"), text.size()))
    << collector.describe() << aggregator.describe();
  ASSERT_TRUE(collector.stop());
  ASSERT_TRUE(aggregator.stop());
  EXPECT_TRUE(read_file(dir.file("received/big.log")) == text) << "not byte-identical";
  EXPECT_EQ(collector.log_lines("warn"), std::vector<std::string>{});
  EXPECT_EQ(aggregator.log_lines("warn"), std::vector<std::string>{});
}

TEST_F(tcp_pipeline, moves_100_mib_compressed_byte_identical) {
  auto port = free_port();
  agent_process aggregator(dir, "aggregator");
  aggregator.configure(tcp_input(port)
                       + file_output(dir.file("received"), "uncompress = \"deflate\"\n"));
  ASSERT_TRUE(aggregator.start("listening on"));
  agent_process collector(dir, "collector");
  collector.configure(file_input(logs, "compress = \"deflate\"\n") + tcp_output({port}));
  ASSERT_TRUE(collector.start("watching"));
  auto text = numbered_text("zipped", 100u << 20);
  drop_file("zipped.log", text);
  ASSERT_TRUE(wait_for_size(dir.file("received/zipped.log"), text.size()))
    << collector.describe() << aggregator.describe();
  ASSERT_TRUE(collector.stop());
  ASSERT_TRUE(aggregator.stop());
  EXPECT_TRUE(read_file(dir.file("received/zipped.log")) == text) << "not byte-identical";
  EXPECT_EQ(aggregator.log_lines("warn"), std::vector<std::string>{});
}

TEST_F(tcp_pipeline, two_collectors_into_one_aggregator) {
  auto port = free_port();
  agent_process aggregator(dir, "aggregator");
  aggregator.configure(tcp_input(port) + file_output(dir.file("received")));
  ASSERT_TRUE(aggregator.start("listening on"));
  fs::create_directories(dir.file("logs2"));
  agent_process first(dir, "collector1");
  first.configure(file_input(logs) + tcp_output({port}));
  agent_process second(dir, "collector2");
  second.configure(file_input(dir.file("logs2")) + tcp_output({port}));
  ASSERT_TRUE(first.start("watching"));
  ASSERT_TRUE(second.start("watching"));
  auto one = numbered_text("one", 10u << 20);
  auto two = numbered_text("two", 10u << 20);
  // Appended in pieces, both at once.
  for (std::size_t at = 0; at < one.size(); at += 1 << 20) {
    append_file(logs + "/one.log", one.substr(at, 1 << 20));
    append_file(dir.file("logs2/two.log"), two.substr(at, 1 << 20));
  }
  ASSERT_TRUE(wait_for_size(dir.file("received/one.log"), one.size()));
  ASSERT_TRUE(wait_for_size(dir.file("received/two.log"), two.size()));
  EXPECT_TRUE(read_file(dir.file("received/one.log")) == one);
  EXPECT_TRUE(read_file(dir.file("received/two.log")) == two);
  EXPECT_TRUE(first.stop());
  EXPECT_TRUE(second.stop());
  EXPECT_TRUE(aggregator.stop());
}

/// Appends `count` numbered lines to each of `streams` (files
/// <logs>/<stream>.log), `batch` lines at a time, starting at `first`.
void append_lines(const std::string& logs, const std::vector<std::string>& streams,
                  std::size_t first, std::size_t count, std::size_t batch = 500) {
  for (std::size_t at = first; at < first + count; at += batch)
    for (const auto& s : streams)
      append_file(logs + "/" + s + ".log",
                  numbered_lines(s, at, std::min(batch, first + count - at)));
}

/// Every line 0..count-1 of `stream` is in one of `files`; every line
/// there is intact (replays after a failure may repeat whole blocks).
::testing::AssertionResult all_lines_arrived(const std::vector<std::string>& files,
                                             const std::string& stream, std::size_t count) {
  std::string damaged;
  std::set<std::size_t> seen;
  for (const auto& f : files) {
    auto numbers = line_numbers(read_file(f), stream, damaged);
    seen.insert(numbers.begin(), numbers.end());
    if (!damaged.empty())
      return ::testing::AssertionFailure() << f << ": a line arrived damaged: " << damaged;
  }
  for (std::size_t i = 0; i < count; ++i)
    if (seen.count(i) == 0)
      return ::testing::AssertionFailure() << stream << ": line " << i << " of " << count
                                           << " is missing";
  return ::testing::AssertionSuccess();
}

TEST_F(tcp_pipeline, round_robin_spreads_streams_and_a_killed_aggregator_loses_nothing) {
  auto port_a = free_port();
  auto port_b = free_port();
  agent_process a(dir, "aggregator-a");
  a.configure(tcp_input(port_a) + file_output(dir.file("received-a")));
  agent_process b(dir, "aggregator-b");
  b.configure(tcp_input(port_b) + file_output(dir.file("received-b")));
  ASSERT_TRUE(a.start("listening on"));
  ASSERT_TRUE(b.start("listening on"));
  agent_process collector(dir, "collector");
  collector.configure(file_input(logs, "line_mode = true\n")
                      + tcp_output({port_a, port_b}, "balance = \"round_robin\"\n"));
  ASSERT_TRUE(collector.start("watching"));
  const std::vector<std::string> streams{"s1", "s2", "s3", "s4"};
  const std::size_t half = 50000; // lines per stream before and after the kill
  append_lines(logs, streams, 0, half);
  // The streams are spread: each aggregator has some of them.
  auto files_at = [&](const std::string& folder) {
    std::size_t n = 0;
    for (const auto& s : streams)
      n += fs::exists(dir.file(folder + "/" + s + ".log")) ? 1 : 0;
    return n;
  };
  ASSERT_TRUE(wait_until([&] { return files_at("received-a") + files_at("received-b") == 4; }))
    << collector.describe();
  EXPECT_EQ(files_at("received-a"), 2u);
  EXPECT_EQ(files_at("received-b"), 2u);
  // A dies mid-stream, as if its host failed.
  a.kill();
  append_lines(logs, streams, half, half);
  for (const auto& s : streams) {
    auto in_a = dir.file("received-a/" + s + ".log");
    auto in_b = dir.file("received-b/" + s + ".log");
    EXPECT_TRUE(wait_until([&] { return all_lines_arrived({in_a, in_b}, s, 2 * half); },
                           transfer_timeout))
      << all_lines_arrived({in_a, in_b}, s, 2 * half).message() << "\n" << collector.describe();
  }
  EXPECT_TRUE(collector.stop());
  EXPECT_TRUE(b.stop());
}

TEST_F(tcp_pipeline, failover_sends_everything_to_the_first_healthy_endpoint) {
  auto closed_port = free_port(); // nothing listens there
  auto port = free_port();
  agent_process aggregator(dir, "aggregator");
  aggregator.configure(tcp_input(port) + file_output(dir.file("received")));
  ASSERT_TRUE(aggregator.start("listening on"));
  agent_process collector(dir, "collector");
  collector.configure(file_input(logs)
                      + tcp_output({closed_port, port}, "balance = \"failover\"\n"));
  ASSERT_TRUE(collector.start("watching"));
  auto one = numbered_text("first", 1u << 20);
  auto two = numbered_text("second", 1u << 20);
  drop_file("first.log", one);
  drop_file("second.log", two);
  ASSERT_TRUE(wait_for_size(dir.file("received/first.log"), one.size()));
  ASSERT_TRUE(wait_for_size(dir.file("received/second.log"), two.size()));
  EXPECT_TRUE(read_file(dir.file("received/first.log")) == one);
  EXPECT_TRUE(read_file(dir.file("received/second.log")) == two);
  EXPECT_TRUE(collector.stop());
  EXPECT_TRUE(aggregator.stop());
}

TEST_F(tcp_pipeline, an_aggregator_restarted_mid_stream_loses_nothing) {
  auto port = free_port();
  agent_process aggregator(dir, "aggregator");
  aggregator.configure(tcp_input(port) + file_output(dir.file("received")));
  ASSERT_TRUE(aggregator.start("listening on"));
  agent_process collector(dir, "collector");
  collector.configure(file_input(logs, "line_mode = true\n")
                      + tcp_output({port}, "disable_timeout = \"1s\"\n"));
  ASSERT_TRUE(collector.start("watching"));
  const std::size_t part = 40000;
  append_lines(logs, {"steady"}, 0, part);
  ASSERT_TRUE(wait_until([&] { return fs::exists(dir.file("received/steady.log")); }));
  ASSERT_TRUE(aggregator.stop());
  append_lines(logs, {"steady"}, part, part);
  ASSERT_TRUE(aggregator.start("listening on"));
  append_lines(logs, {"steady"}, 2 * part, part);
  auto received = dir.file("received/steady.log");
  EXPECT_TRUE(wait_until([&] { return all_lines_arrived({received}, "steady", 3 * part); },
                         transfer_timeout))
    << all_lines_arrived({received}, "steady", 3 * part).message() << collector.describe()
    << aggregator.describe();
  EXPECT_TRUE(collector.stop());
  EXPECT_TRUE(aggregator.stop());
}

TEST_F(tcp_pipeline, hostile_names_and_malformed_frames_close_only_their_connection) {
  auto port = free_port();
  agent_process aggregator(dir, "aggregator");
  auto received = dir.file("out/received");
  fs::create_directories(received);
  aggregator.configure(tcp_input(port) + file_output(received));
  ASSERT_TRUE(aggregator.start("listening on"));
  client_socket steady{port};
  auto send = [](client_socket& c, const std::string& name, const std::string& data) {
    std::vector<char> bytes;
    wire::encode_message(name, data.data(), data.size(), bytes);
    return c.send_all(bytes);
  };
  for (const char* name : {"../escape.log", "/tmp/absolute.log", "sub/dir.log", "..",
                           "new\nline.log"}) {
    SCOPED_TRACE(name);
    client_socket hostile{port};
    send(hostile, name, "hostile data\n");
    EXPECT_TRUE(hostile.closed_by_peer());
    ASSERT_TRUE(send(steady, "steady.log", std::string("after ") + name + "\n"));
  }
  {
    client_socket garbage{port};
    garbage.send_all("GET / HTTP/1.0\r\n\r\n", 18);
    EXPECT_TRUE(garbage.closed_by_peer());
  }
  ASSERT_TRUE(send(steady, "steady.log", "last\n"));
  ASSERT_TRUE(wait_until([&] {
    return read_file(received + "/steady.log").find("last\n") != std::string::npos;
  }));
  EXPECT_EQ(count_of(read_file(received + "/steady.log"), "after "), 5u);
  // Nothing was written anywhere but the steady stream.
  std::vector<std::string> everything;
  for (const auto& e : fs::recursive_directory_iterator(dir.file("out")))
    everything.push_back(e.path().string());
  EXPECT_EQ(everything, (std::vector<std::string>{received, received + "/steady.log"}));
  EXPECT_FALSE(fs::exists("/tmp/absolute.log"));
  auto warnings = aggregator.log_lines("warn");
  EXPECT_EQ(warnings.size(), 6u) << aggregator.describe();
  for (const auto& w : warnings)
    EXPECT_NE(w.find("127.0.0.1:"), std::string::npos) << "names the peer: " << w;
  EXPECT_TRUE(aggregator.running());
  EXPECT_TRUE(aggregator.stop());
}

TEST_F(tcp_pipeline, allow_refuses_a_client_and_logs_it) {
  auto port = free_port();
  agent_process aggregator(dir, "aggregator");
  aggregator.configure(tcp_input(port, "allow = [\"10.0.0.0/8\"]\n")
                       + file_output(dir.file("received")));
  ASSERT_TRUE(aggregator.start("listening on"));
  client_socket refused{port};
  std::vector<char> bytes;
  wire::encode_message("refused.log", "data\n", 5, bytes);
  refused.send_all(bytes);
  EXPECT_TRUE(refused.closed_by_peer());
  EXPECT_TRUE(wait_until([&] { return aggregator.log_count("not in `allow`") == 1; }))
    << aggregator.describe();
  EXPECT_FALSE(fs::exists(dir.file("received/refused.log")));
  EXPECT_TRUE(aggregator.stop());
}

} // namespace
} // namespace logpipe::proc_test
