// Agents linked through CAF's distribution layer, as real processes on
// loopback: file input -> caf output -> caf input -> file output (by_origin).
// Whatever fails on the way (a killed aggregator or collector, a frozen
// aggregator, a relay in between), the received file holds the source's
// bytes exactly: nothing lost, nothing written twice.

#include "test/support/agent_process.hpp"
#include "test/support/loopback.hpp"
#include "test/support/numbered_lines.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace logpipe::proc_test {
namespace {

namespace fs = std::filesystem;
using logpipe::test::free_port;
using logpipe::test::numbered_text;

constexpr auto transfer_timeout = 60s; // 100 MiB in the sanitizer build
constexpr std::size_t mib = 1u << 20;

/// Heartbeats fast enough for a test to see a frozen agent go.
const std::string fast_heartbeats = "heartbeat_interval = \"200ms\"\n"
                                    "heartbeat_timeout = \"1s\"\n";

/// Writes `agent`'s configuration with `components`; `agent_keys` ("key =
/// value" lines) go into its [agent] table.
void configure(const agent_process& agent, const std::string& components,
               const std::string& agent_keys = "") {
  agent.configure(components);
  auto text = read_file(agent.config_file());
  const std::string table = "[agent]\n";
  text.insert(text.find(table) + table.size(), agent_keys);
  write_file(agent.config_file(), text);
}

/// Appends `text` to `path` in pieces until `ready()` (or all but the last
/// piece is written) and returns how much it appended: the rest, appended
/// after a kill, makes the kill fall mid-stream however fast the agents are.
std::size_t append_until(const std::string& path, const std::string& text,
                         const std::function<bool()>& ready) {
  constexpr std::size_t piece = 256 * 1024;
  std::size_t done = 0;
  while (done + piece < text.size() && !ready()) {
    append_file(path, text.substr(done, piece));
    done += piece;
  }
  return done;
}

/// The line of `text` around byte `at`, for failure messages.
std::string line_at(const std::string& text, std::size_t at) {
  if (at >= text.size())
    return "(end of file)";
  auto start = text.rfind('\n', at);
  start = start == std::string::npos ? 0 : start + 1;
  auto end = text.find('\n', at);
  return text.substr(start, std::min<std::size_t>(end, start + 120) - start);
}

/// Whether the file at `path` holds exactly `expected`; if not, how it
/// differs.
::testing::AssertionResult holds_exactly(const std::string& path, const std::string& expected) {
  auto got = read_file(path);
  if (got == expected)
    return ::testing::AssertionSuccess();
  auto diff = std::mismatch(got.begin(), got.end(), expected.begin(), expected.end());
  auto at = static_cast<std::size_t>(diff.first - got.begin());
  return ::testing::AssertionFailure()
         << path << " has " << got.size() << " bytes, the source " << expected.size()
         << "; first difference at byte " << at << ":\n  received: " << line_at(got, at)
         << "\n  expected: " << line_at(expected, at);
}

/// Warnings and errors in `agent`'s log other than the plaintext notices
/// every caf component without `tls` gives.
std::vector<std::string> unexpected_complaints(const agent_process& agent) {
  std::vector<std::string> out;
  for (const char* level : {"warn", "error"})
    for (const auto& line : agent.log_lines(level))
      if (line.find("plaintext (no `tls`)") == std::string::npos)
        out.push_back(line);
  return out;
}

/// Bytes the file output of `aggregator` skipped as already written, as it
/// logs when it stops (-1 if it did not).
std::uint64_t skipped_bytes(const agent_process& aggregator) {
  const std::string before = "; skipped ";
  for (const auto& line : aggregator.log_lines("info"))
    if (auto at = line.find(before);
        at != std::string::npos && line.find(" bytes already written;") != std::string::npos)
      return std::stoull(line.substr(at + before.size()));
  return static_cast<std::uint64_t>(-1);
}

/// The agent's monitor: the process this test started.
pid_t monitor_of(const agent_process& agent) {
  for (auto pid : pids_with_marker(agent.config_file()))
    if (auto s = stat_of(pid); s && s->ppid == ::getpid())
      return pid;
  return -1;
}

/// The agent's worker: its monitor's child (-1 between two workers).
pid_t worker_of(const agent_process& agent) {
  const pid_t monitor = monitor_of(agent);
  for (auto pid : pids_with_marker(agent.config_file()))
    if (auto s = stat_of(pid); s && s->ppid == monitor && monitor > 0)
      return pid;
  return -1;
}

/// Whether every thread of `pid` is stopped by a signal (state T).
bool all_threads_stopped(pid_t pid) {
  std::error_code ec;
  bool any = false;
  for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    auto text = read_file(task.path().string() + "/stat");
    auto close = text.rfind(')');
    if (close == std::string::npos || close + 2 >= text.size() || text[close + 2] != 'T')
      return false;
    any = true;
  }
  return any;
}

/// SIGSTOP to the monitor and worker of `agent` (their process group);
/// returns once every thread of the worker has stopped, so that nothing it
/// does lands after this.
void freeze(const agent_process& agent) {
  const pid_t monitor = monitor_of(agent);
  const pid_t worker = worker_of(agent);
  ASSERT_GT(worker, 0) << agent.name() << " has no worker";
  ASSERT_EQ(::kill(-monitor, SIGSTOP), 0) << agent.name();
  ASSERT_TRUE(wait_until([&] { return all_threads_stopped(worker); }))
    << agent.name() << "'s worker did not stop";
}

void thaw(const agent_process& agent) {
  const pid_t monitor = monitor_of(agent);
  ASSERT_GT(monitor, 0) << agent.name() << " is not running";
  ASSERT_EQ(::kill(-monitor, SIGCONT), 0) << agent.name();
}

class caf_link_process : public ::testing::Test {
protected:
  temp_dir dir{"logpipe-cl"};
  const std::string logs = dir.file("logs");
  const std::string received = dir.file("received");

  void SetUp() override { fs::create_directories(logs); }

  static std::string caf_input(std::uint16_t port) {
    return "[[inputs]]\ntype = \"caf\"\nlisten = \"127.0.0.1:" + std::to_string(port) + "\"\n";
  }

  static std::string caf_output(std::uint16_t port) {
    return "[[outputs]]\ntype = \"caf\"\nconnect = \"127.0.0.1:" + std::to_string(port)
           + "\"\n";
  }

  static std::string file_input(const std::string& folder, const std::string& extra = "") {
    return "[[inputs]]\ntype = \"file\"\nname = \"logs\"\npath = \"" + folder
           + "\"\nfiles = [\"*.log\"]\nread_from_head = true\n" + extra;
  }

  std::string by_origin_output() const {
    return "[[outputs]]\ntype = \"file\"\npath = \"" + received + "\"\nlayout = \"by_origin\"\n";
  }

  /// Where the aggregator writes `file` of `origin`.
  std::string received_file(const std::string& origin, const std::string& file) const {
    return received + "/" + origin + "/" + file;
  }

  static ::testing::AssertionResult wait_for_size(const std::string& path, std::uint64_t size) {
    if (wait_until([&] { return size_of(path) >= size; }, transfer_timeout))
      return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << path << " has " << size_of(path) << " of " << size
                                         << " bytes";
  }
};

TEST_F(caf_link_process, moves_100_mib_byte_identical) {
  auto port = free_port();
  agent_process aggregator(dir, "aggregator");
  configure(aggregator, caf_input(port) + by_origin_output());
  ASSERT_TRUE(aggregator.start("listening on"));
  auto text = numbered_text("big", 100 * mib);
  write_file(logs + "/big.log", text); // there before the collector starts
  agent_process collector(dir, "collector");
  configure(collector, file_input(logs) + caf_output(port));
  ASSERT_TRUE(collector.start("linked to"));
  auto out = received_file("collector", "big.log");
  ASSERT_TRUE(wait_for_size(out, text.size())) << collector.describe() << aggregator.describe();
  ASSERT_TRUE(collector.stop());
  ASSERT_TRUE(aggregator.stop());
  EXPECT_TRUE(holds_exactly(out, text));
  EXPECT_EQ(unexpected_complaints(collector), std::vector<std::string>{});
  EXPECT_EQ(unexpected_complaints(aggregator), std::vector<std::string>{});
}

TEST_F(caf_link_process, an_aggregator_killed_mid_transfer_and_restarted_misses_and_repeats_nothing) {
  auto port = free_port();
  agent_process aggregator(dir, "aggregator");
  configure(aggregator, caf_input(port) + by_origin_output());
  ASSERT_TRUE(aggregator.start("listening on"));
  agent_process collector(dir, "collector");
  configure(collector, file_input(logs) + caf_output(port));
  ASSERT_TRUE(collector.start("linked to"));
  auto text = numbered_text("big", 60 * mib);
  auto out = received_file("collector", "big.log");
  auto ready = [&] { return size_of(out) >= 4 * mib; };
  const auto before_kill = append_until(logs + "/big.log", text, ready);
  ASSERT_TRUE(wait_until(ready, transfer_timeout)) << collector.describe() << aggregator.describe();
  aggregator.kill(); // kill -9 of its monitor and worker, as if its host died
  const auto at_kill = size_of(out);
  append_file(logs + "/big.log", text.substr(before_kill));
  ASSERT_TRUE(wait_until([&] { return collector.log_count("lost the link to") > 0; }))
    << collector.describe();
  // Same configuration, same data_dir: it knows what it wrote.
  ASSERT_TRUE(aggregator.start("listening on"));
  ASSERT_TRUE(wait_for_size(out, text.size())) << collector.describe() << aggregator.describe();
  ASSERT_TRUE(collector.stop());
  ASSERT_TRUE(aggregator.stop());
  EXPECT_LT(at_kill, text.size());
  EXPECT_TRUE(holds_exactly(out, text)) << collector.describe() << aggregator.describe();
}

TEST_F(caf_link_process, a_collector_worker_killed_mid_transfer_resumes_from_its_checkpoint) {
  auto port = free_port();
  agent_process aggregator(dir, "aggregator");
  configure(aggregator, caf_input(port) + by_origin_output());
  ASSERT_TRUE(aggregator.start("listening on"));
  agent_process collector(dir, "collector");
  // At most window x block_size unacknowledged: what a new worker may send again.
  const std::uint64_t unacked = 8 * 256 * 1024;
  configure(collector,
            file_input(logs, "window = 8\nblock_size = \"256KiB\"\n") + caf_output(port));
  ASSERT_TRUE(collector.start("linked to"));
  auto text = numbered_text("big", 60 * mib);
  auto out = received_file("collector", "big.log");
  auto ready = [&] { return collector.checkpoint_of("logs", "big.log") >= 4 * unacked; };
  const auto before_kill = append_until(logs + "/big.log", text, ready);
  ASSERT_TRUE(wait_until(ready, transfer_timeout)) << collector.describe() << aggregator.describe();
  // kill -9 of the worker only: its monitor starts a new one (after 1 s).
  const pid_t worker = worker_of(collector);
  ASSERT_GT(worker, 0) << describe_pids(pids_with_marker(collector.config_file()));
  const auto links_before = collector.log_count("linked to");
  ASSERT_EQ(::kill(worker, SIGKILL), 0);
  ASSERT_TRUE(wait_until([&] { return !alive(worker); }));
  // What the new worker resumes from, and what the aggregator had then.
  const auto resume_at = collector.checkpoint_of("logs", "big.log");
  const auto at_kill = size_of(out);
  append_file(logs + "/big.log", text.substr(before_kill));
  ASSERT_TRUE(wait_until([&] { return collector.log_count("linked to") > links_before; }))
    << collector.describe();
  EXPECT_EQ(collector.log_count("worker was killed by signal 9"), 1u) << collector.describe();
  EXPECT_NE(worker_of(collector), worker);
  ASSERT_TRUE(wait_for_size(out, text.size())) << collector.describe() << aggregator.describe();
  ASSERT_TRUE(collector.stop());
  ASSERT_TRUE(aggregator.stop());
  EXPECT_LT(at_kill, text.size());
  EXPECT_TRUE(holds_exactly(out, text)) << collector.describe() << aggregator.describe();
  // Sent again: from the checkpoint on, not from the start of the file.
  EXPECT_LE(resume_at, at_kill);
  EXPECT_LE(skipped_bytes(aggregator), at_kill - resume_at + unacked) << aggregator.describe();
}

TEST_F(caf_link_process, a_frozen_aggregator_is_found_out_by_heartbeats_and_catches_up) {
  auto port = free_port();
  agent_process aggregator(dir, "aggregator");
  configure(aggregator, caf_input(port) + by_origin_output(), fast_heartbeats);
  ASSERT_TRUE(aggregator.start("listening on"));
  agent_process collector(dir, "collector");
  configure(collector, file_input(logs) + caf_output(port), fast_heartbeats);
  ASSERT_TRUE(collector.start("linked to"));
  auto text = numbered_text("big", 60 * mib);
  auto out = received_file("collector", "big.log");
  append_file(logs + "/big.log", text);
  ASSERT_TRUE(wait_for_size(out, 4 * mib)) << collector.describe() << aggregator.describe();
  ASSERT_NO_FATAL_FAILURE(freeze(aggregator));
  const auto at_stop = size_of(out);
  // A link silent for heartbeat_timeout is taken as gone.
  EXPECT_TRUE(wait_until([&] { return collector.log_count("lost the link to") > 0; }))
    << collector.describe();
  EXPECT_EQ(size_of(out), at_stop) << "written while stopped";
  ASSERT_NO_FATAL_FAILURE(thaw(aggregator));
  ASSERT_TRUE(wait_for_size(out, text.size())) << collector.describe() << aggregator.describe();
  ASSERT_TRUE(collector.stop());
  ASSERT_TRUE(aggregator.stop());
  EXPECT_LT(at_stop, text.size()) << "stopped after everything arrived: not mid-transfer";
  EXPECT_TRUE(holds_exactly(out, text)) << collector.describe() << aggregator.describe();
}

TEST_F(caf_link_process, three_collectors_into_one_aggregator_keep_their_origins_apart) {
  auto port = free_port();
  agent_process aggregator(dir, "aggregator");
  configure(aggregator, caf_input(port) + by_origin_output());
  ASSERT_TRUE(aggregator.start("listening on"));
  const std::vector<std::string> names{"collector-1", "collector-2", "collector-3"};
  std::vector<std::unique_ptr<agent_process>> collectors;
  std::vector<std::string> texts;
  for (const auto& name : names) {
    fs::create_directories(dir.file(name + "-logs"));
    collectors.push_back(std::make_unique<agent_process>(dir, name));
    configure(*collectors.back(), file_input(dir.file(name + "-logs")) + caf_output(port));
    ASSERT_TRUE(collectors.back()->start("linked to"));
    texts.push_back(numbered_text(name, 10 * mib));
  }
  // One file name for all three, appended in pieces, all at once.
  for (std::size_t at = 0; at < texts[0].size(); at += mib)
    for (std::size_t i = 0; i < names.size(); ++i)
      append_file(dir.file(names[i] + "-logs/app.log"), texts[i].substr(at, mib));
  for (std::size_t i = 0; i < names.size(); ++i)
    ASSERT_TRUE(wait_for_size(received_file(names[i], "app.log"), texts[i].size()))
      << names[i] << "\n" << aggregator.describe();
  for (auto& c : collectors)
    EXPECT_TRUE(c->stop());
  ASSERT_TRUE(aggregator.stop());
  for (std::size_t i = 0; i < names.size(); ++i)
    EXPECT_TRUE(holds_exactly(received_file(names[i], "app.log"), texts[i]));
  std::vector<std::string> origins;
  for (const auto& e : fs::directory_iterator(received))
    origins.push_back(e.path().filename().string());
  std::sort(origins.begin(), origins.end());
  EXPECT_EQ(origins, names);
}

TEST_F(caf_link_process, a_relay_passes_blocks_on_and_the_checkpoint_waits_for_the_aggregator) {
  auto relay_port = free_port();
  auto aggregator_port = free_port();
  agent_process aggregator(dir, "aggregator");
  configure(aggregator, caf_input(aggregator_port) + by_origin_output(), fast_heartbeats);
  ASSERT_TRUE(aggregator.start("listening on"));
  agent_process relay(dir, "relay");
  configure(relay, caf_input(relay_port) + caf_output(aggregator_port), fast_heartbeats);
  ASSERT_TRUE(relay.start("linked to"));
  agent_process collector(dir, "collector");
  configure(collector, file_input(logs) + caf_output(relay_port));
  ASSERT_TRUE(collector.start("linked to"));
  auto text = numbered_text("big", 40 * mib);
  auto out = received_file("collector", "big.log");
  // The collector's checkpoint never passes what the aggregator wrote: read
  // in this order, checkpoint <= size holds at every sample.
  std::uint64_t worst_lead = 0;
  auto sample = [&] {
    auto checkpoint = collector.checkpoint_of("logs", "big.log");
    auto written = size_of(out);
    if (checkpoint > written)
      worst_lead = std::max(worst_lead, checkpoint - written);
  };
  auto sampled_size = [&](std::uint64_t size) {
    return wait_until([&] { sample(); return size_of(out) >= size; }, transfer_timeout);
  };
  append_file(logs + "/big.log", text);
  ASSERT_TRUE(sampled_size(4 * mib)) << relay.describe() << aggregator.describe();
  // Frozen aggregator: until the relay has given up on it (1 s of silence),
  // whatever the collector sends stops at the relay.
  ASSERT_NO_FATAL_FAILURE(freeze(aggregator));
  const auto at_stop = size_of(out);
  EXPECT_TRUE(wait_until([&] { sample(); return relay.log_count("lost the link to") > 0; }))
    << relay.describe();
  sample();
  const auto checkpoint_while_frozen = collector.checkpoint_of("logs", "big.log");
  ASSERT_NO_FATAL_FAILURE(thaw(aggregator));
  ASSERT_TRUE(sampled_size(text.size())) << collector.describe() << relay.describe()
                                         << aggregator.describe();
  ASSERT_TRUE(collector.stop());
  ASSERT_TRUE(relay.stop());
  ASSERT_TRUE(aggregator.stop());
  EXPECT_LT(at_stop, text.size()) << "stopped after everything arrived: not mid-transfer";
  EXPECT_LE(checkpoint_while_frozen, at_stop);
  EXPECT_EQ(worst_lead, 0u) << "the collector's checkpoint ran ahead of the aggregator's file";
  EXPECT_EQ(collector.checkpoint_of("logs", "big.log"), text.size());
  EXPECT_TRUE(holds_exactly(out, text)) << collector.describe() << relay.describe()
                                        << aggregator.describe();
}

// A version refusal needs two agents speaking different log_block protocols:
// real processes of one build cannot; caf_link_test covers it in process.

// --- logpipe --check on caf components ---------------------------------------

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class caf_link_check : public ::testing::Test {
protected:
  temp_dir dir{"logpipe-clc"};
  const std::string path = dir.file("agent.toml");

  /// A certificate for TLS servers and clients, its key, and the same
  /// certificate under a second name: another identity for the config.
  void SetUp() override {
    auto r = run({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:prime256v1", "-nodes", "-days", "3650", "-subj",
                  "/CN=logpipe-test", "-addext", "extendedKeyUsage=serverAuth,clientAuth",
                  "-keyout", dir.file("a.key"), "-out", dir.file("a.pem")},
                 dir);
    ASSERT_TRUE(r.exited_with(0)) << r;
    fs::copy_file(dir.file("a.pem"), dir.file("b.pem"));
  }

  /// Runs `logpipe --check` on an agent with `components`.
  run_result check(const std::string& components) {
    write_file(path, "[agent]\nname = \"relay\"\ndata_dir = \"" + dir.file("data") + "\"\n"
                       + components);
    return run({LOGPIPE_BINARY, "--check", "-f", path}, dir);
  }

  /// The lines on stderr of a run refused as a configuration error.
  static std::vector<std::string> errors_of(const run_result& r) {
    EXPECT_TRUE(r.exited_with(2)) << r;
    EXPECT_EQ(r.out, "") << r;
    return complete_lines(r.err);
  }

  std::string tls(const std::string& cert) const {
    return "tls = { cert = \"" + dir.file(cert) + "\", key = \"" + dir.file("a.key")
           + "\", ca = \"" + dir.file("a.pem") + "\" }\n";
  }
};

TEST_F(caf_link_check, accepts_a_relay) {
  auto r = check("[[inputs]]\ntype = \"caf\"\nlisten = \"127.0.0.1:5252\"\n" + tls("a.pem")
                 + "[[outputs]]\ntype = \"caf\"\nendpoints = [\"10.0.0.1:5252\", "
                   "\"[::1]:5252\"]\nbalance = \"failover\"\n" + tls("a.pem"));
  EXPECT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(r.out, path + ": OK (1 inputs, 1 outputs)\n") << r;
  EXPECT_EQ(r.err, "");
}

TEST_F(caf_link_check, rejects_both_connect_and_endpoints) {
  auto errors = errors_of(check("[[outputs]]\n"
                                "type = \"caf\"\n"
                                "connect = \"127.0.0.1:5252\"\n"
                                "endpoints = [\"127.0.0.1:5253\"]\n"));
  EXPECT_THAT(errors, ElementsAre(AllOf(StartsWith(path + ":6:11: key 'connect' in outputs[1] "),
                                        HasSubstr("conflicts with `endpoints`"))));
  auto neither = errors_of(check("[[outputs]]\n"
                                 "type = \"caf\"\n"));
  EXPECT_THAT(neither, ElementsAre(AllOf(StartsWith(path + ":4:1: key 'connect' in outputs[1] "),
                                         HasSubstr("is missing"))));
}

TEST_F(caf_link_check, rejects_tls_with_only_a_certificate) {
  auto errors = errors_of(check("[[inputs]]\n"
                                "type = \"caf\"\n"
                                "listen = \"127.0.0.1:5252\"\n"
                                "tls = { cert = \"" + dir.file("a.pem") + "\" }\n"));
  // Both missing keys, where the table that lacks them begins.
  EXPECT_THAT(errors,
              ElementsAre(AllOf(StartsWith(path + ":4:1: key 'tls.key' in inputs[1] "),
                                HasSubstr("missing")),
                          AllOf(StartsWith(path + ":4:1: key 'tls.ca' in inputs[1] "),
                                HasSubstr("missing"))));
}

TEST_F(caf_link_check, rejects_two_tls_identities_in_one_agent) {
  auto errors = errors_of(check("[[inputs]]\n"
                                "type = \"caf\"\n"
                                "listen = \"127.0.0.1:5252\"\n"
                                + tls("a.pem") +
                                "[[outputs]]\n"
                                "type = \"caf\"\n"
                                "connect = \"127.0.0.1:5253\"\n"
                                + tls("b.pem")));
  // Line 11, column 16: the second component's certificate.
  EXPECT_THAT(errors, ElementsAre(AllOf(StartsWith(path + ":11:16: key 'tls' in outputs[1] "),
                                        HasSubstr("inputs[1]"), HasSubstr("TLS identity"))));
}

} // namespace
} // namespace logpipe::proc_test
