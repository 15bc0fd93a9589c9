// The http output plugin in a real agent: a file input, the output loaded
// from its shared library, and test/plugins/http/http_sink_server.py as the endpoint.
// Lines arrive in order and exactly once, as raw text or as ndjson, through
// 500 answers and while the endpoint is down.

#include "test/support/agent_process.hpp"
#include "test/support/loopback.hpp"
#include "test/support/numbered_lines.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace logpipe::proc_test {
namespace {

namespace fs = std::filesystem;
using logpipe::test::free_port;
using logpipe::test::numbered_lines;

constexpr const char* python = "/usr/bin/python3";
constexpr auto transfer_timeout = 20s; // sanitizer build, backoff included

/// test/plugins/http/http_sink_server.py as a child process.
class sink_server {
public:
  sink_server(const temp_dir& dir, std::uint16_t port, int fail_first)
    : dir_(dir), port_file_(dir.file("server.port")) {
    fs::remove(port_file_);
    process_.emplace(std::vector<std::string>{python,
                                              std::string(LOGPIPE_SOURCE_DIR)
                                                + "/test/plugins/http/http_sink_server.py",
                                              "--port", std::to_string(port), "--fail-first",
                                              std::to_string(fail_first), "--body-file",
                                              body_file(), "--status-file", status_file(),
                                              "--port-file", port_file_},
                     dir.file("server.out"), dir.file("server.err"));
  }

  /// Waits until it listens; its port, or 0 if it did not come up.
  std::uint16_t wait_ready() {
    if (!wait_until([&] { return fs::exists(port_file_) || process_->ended(); })
        || process_->ended())
      return 0;
    return static_cast<std::uint16_t>(std::stoi(read_file(port_file_)));
  }

  std::string body_file() const { return dir_.file("server.body"); }
  std::string status_file() const { return dir_.file("server.status"); }
  std::string body() const { return read_file(body_file()); }

  /// The status of every request so far, in order.
  std::vector<std::string> statuses() const {
    std::vector<std::string> out;
    for (const auto& line : complete_lines(read_file(status_file())))
      out.push_back(line.substr(0, line.find(' ')));
    return out;
  }

  std::string describe() const {
    return "--- server stderr:\n" + read_file(dir_.file("server.err")) + "--- statuses: "
           + ::testing::PrintToString(statuses()) + "\n";
  }

private:
  const temp_dir& dir_;
  std::string port_file_;
  std::optional<child> process_;
};

class http_process : public ::testing::Test {
protected:
  temp_dir dir{"logpipe-http"};
  const std::string logs = dir.file("logs");
  agent_process agent{dir, "http-agent"};

  void SetUp() override { fs::create_directories(logs); }

  /// A file input on `logs` and the http output to `port` with `extra` keys.
  /// The input cuts at lines, as docs/http-output.md advises: otherwise a
  /// line read while it is being appended arrives as two.
  void configure(std::uint16_t port, const std::string& extra = "") {
    agent.configure("[[inputs]]\ntype = \"file\"\nname = \"logs\"\npath = \"" + logs
                    + "\"\nfiles = [\"*.log\"]\nline_mode = true\n"
                      "[[outputs]]\ntype = \"http\"\nname = \"web\"\nplugin = \""
                    + LOGPIPE_HTTP_PLUGIN + "\"\nurl = \"http://127.0.0.1:"
                    + std::to_string(port) + "/ingest\"\nbatch_size = 100\n"
                    + "retry_backoff_max = \"200ms\"\n" + extra);
  }

  /// Waits for `server`, then starts the agent sending to it.
  ::testing::AssertionResult start_agent_for(sink_server& server, const std::string& extra = "") {
    auto port = server.wait_ready();
    if (port == 0)
      return ::testing::AssertionFailure() << "the server is not ready\n" << server.describe();
    configure(port, extra);
    return agent.start("watching");
  }

  /// Appends numbered lines first..first+count-1 to logs/app.log, `piece`
  /// lines at a time.
  void append_lines(std::size_t first, std::size_t count, std::size_t piece = 250) {
    const auto end = first + count;
    for (std::size_t at = first; at < end; at += piece)
      append_file(logs + "/app.log", numbered_lines("app", at, std::min(piece, end - at)));
  }

  /// Waits until the server holds `size` bytes of bodies.
  bool wait_for_body(const sink_server& server, std::uint64_t size) {
    return wait_until([&] { return size_of(server.body_file()) >= size; }, transfer_timeout);
  }
};

TEST_F(http_process, raw_lines_arrive_in_order_each_exactly_once) {
  sink_server server(dir, 0, 0);
  ASSERT_TRUE(start_agent_for(server));
  append_lines(0, 3000);
  const auto expected = numbered_lines("app", 0, 3000);
  ASSERT_TRUE(wait_for_body(server, expected.size())) << agent.describe() << server.describe();
  ASSERT_TRUE(agent.stop());
  EXPECT_TRUE(server.body() == expected) << "lines lost, repeated or out of order";
  EXPECT_GE(server.statuses().size(), 30u) << "batch_size = 100 was not applied";
  EXPECT_EQ(agent.log_lines("warn"), std::vector<std::string>{});
  EXPECT_EQ(agent.log_lines("error"), std::vector<std::string>{});
}

/// Each ndjson object of `body` as "file|origin|line", checked by Python's
/// strict json module (valid UTF-8, no raw control characters, exactly the
/// three keys).
std::vector<std::string> parsed_ndjson(const std::string& body_file, const temp_dir& dir) {
  const std::string script =
    "import json, sys\n"
    "data = open(sys.argv[1], 'rb').read()\n"
    "assert data.endswith(b'\\n'), 'no final newline'\n"
    "for raw in data.split(b'\\n')[:-1]:\n"
    "    o = json.loads(raw.decode('utf-8'))\n"
    "    assert sorted(o) == ['file', 'line', 'origin'], o\n"
    "    sys.stdout.buffer.write('|'.join([o['file'], o['origin'], o['line']])"
    ".encode('utf-8') + b'\\n')\n";
  auto result = run({python, "-c", script, body_file}, dir);
  EXPECT_TRUE(result.exited_with(0)) << result;
  return complete_lines(result.out);
}

TEST_F(http_process, ndjson_lines_arrive_as_valid_json_objects_in_order) {
  sink_server server(dir, 0, 0);
  ASSERT_TRUE(start_agent_for(server, "format = \"ndjson\"\n"));
  const std::vector<std::string> odd = {"quote \" backslash \\ tab \t end",
                                        "control \x01\x1f and DEL \x7f",
                                        "utf-8 caf\xC3\xA9 \xE2\x82\xAC",
                                        "invalid \xFF\xC0 bytes", "{\"already\": \"json\"}", ""};
  std::string text;
  for (const auto& line : odd)
    text += line + "\n";
  text += numbered_lines("app", 0, 1000);
  append_file(logs + "/app.log", text);
  const auto expected_count = odd.size() + 1000;
  ASSERT_TRUE(wait_until([&] { return count_of(server.body(), "\n") >= expected_count; },
                         transfer_timeout))
    << agent.describe() << server.describe();
  ASSERT_TRUE(agent.stop());
  auto objects = parsed_ndjson(server.body_file(), dir);
  ASSERT_EQ(objects.size(), expected_count);
  const std::string prefix = "app.log|http-agent|";
  EXPECT_EQ(objects[0], prefix + odd[0]);
  EXPECT_EQ(objects[1], prefix + odd[1]);
  EXPECT_EQ(objects[2], prefix + odd[2]);
  EXPECT_EQ(objects[3], prefix + "invalid \xEF\xBF\xBD\xEF\xBF\xBD bytes");
  EXPECT_EQ(objects[4], prefix + odd[4]);
  EXPECT_EQ(objects[5], prefix);
  auto numbered = complete_lines(numbered_lines("app", 0, 1000));
  for (std::size_t i = 0; i < numbered.size(); ++i)
    ASSERT_EQ(objects[odd.size() + i], prefix + numbered[i]) << "object " << odd.size() + i;
}

TEST_F(http_process, lines_survive_500_answers_in_order) {
  sink_server server(dir, 0, 3);
  ASSERT_TRUE(start_agent_for(server));
  append_lines(0, 2000);
  const auto expected = numbered_lines("app", 0, 2000);
  ASSERT_TRUE(wait_for_body(server, expected.size())) << agent.describe() << server.describe();
  ASSERT_TRUE(agent.stop());
  EXPECT_TRUE(server.body() == expected) << "lines lost, repeated or out of order";
  auto statuses = server.statuses();
  ASSERT_GE(statuses.size(), 4u);
  EXPECT_EQ(std::vector<std::string>(statuses.begin(), statuses.begin() + 4),
            (std::vector<std::string>{"500", "500", "500", "200"}));
  EXPECT_EQ(agent.log_count("failed (HTTP 500, answer: failing on purpose?)"), 3u)
    << agent.describe();
  EXPECT_EQ(agent.log_count("requests succeed again after 3 failed attempts"), 1u);
}

TEST_F(http_process, lines_written_while_the_endpoint_is_down_arrive_once_it_is_up) {
  const auto port = free_port(); // nothing listens there yet
  configure(port);
  ASSERT_TRUE(agent.start("watching"));
  append_lines(0, 1000);
  ASSERT_TRUE(wait_until([&] { return agent.log_lines("warn").size() >= 2; }, transfer_timeout))
    << agent.describe();
  EXPECT_GE(agent.log_count("failed (Failed to connect"), 2u) << agent.describe();
  append_lines(1000, 1000);
  sink_server server(dir, port, 0);
  ASSERT_EQ(server.wait_ready(), port) << server.describe();
  const auto expected = numbered_lines("app", 0, 2000);
  ASSERT_TRUE(wait_for_body(server, expected.size())) << agent.describe() << server.describe();
  ASSERT_TRUE(agent.stop());
  EXPECT_TRUE(server.body() == expected) << "lines lost, repeated or out of order";
  EXPECT_EQ(agent.log_count("requests succeed again after"), 1u) << agent.describe();
}

} // namespace
} // namespace logpipe::proc_test
