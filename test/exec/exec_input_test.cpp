// The exec input against the real bus with the real (threaded) scheduler: it
// uses a child process and an fd_watcher thread, which the deterministic test
// scheduler cannot drive. A probe output forwards a copy of every block it
// gets to the test (a scoped_actor) and acks it, or holds the acks while
// stalled.

#include "actors/core/bus.hpp"
#include "actors/exec/exec_input.hpp"
#include "test/support/actor_fixture.hpp"
#include "test/support/bus_query.hpp"
#include "test/support/probe_collector.hpp"
#include "test/support/probe_output.hpp"
#include "test/support/proc_scan.hpp"
#include "test/support/wait_until.hpp"

#include "messages/registration.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace logpipe::test {
namespace {

using namespace std::chrono_literals;

// -- the fixture --------------------------------------------------------------

class exec_input_test : public ::testing::Test {
protected:
  ~exec_input_test() override {
    for (auto& hdl : owned)
      caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
  }

  template <class Handle>
  Handle own(Handle hdl) {
    owned.push_back(caf::actor_cast<caf::actor>(hdl));
    return hdl;
  }

  /// The bus with one blocking output, the probe output, and the exec input.
  void start(const std::string& cmd, std::uint64_t block_size, std::int64_t window,
             std::chrono::microseconds restart_delay, bool stalled = false) {
    bus = own(sys.spawn(logpipe::bus, std::vector<output_policy>{{"probe", false, 64}}));
    output = own(sys.spawn(probe_output, probe.handle(),
                           std::uint32_t{0}, bus, stalled));
    component_context ctx;
    ctx.config.kind_role = config::role::input;
    ctx.config.type = "exec";
    ctx.config.name = "exec#1";
    ctx.config.values["cmd"] = cmd;
    ctx.config.values["output_filename"] = std::string{"commands/out.log"};
    ctx.config.values["block_size"] = config::byte_size{block_size};
    ctx.config.values["window"] = window;
    ctx.config.values["restart_delay"] = restart_delay;
    ctx.index = 0;
    ctx.bus = bus;
    ctx.agent_name = "test-agent";
    input = own(spawn_exec_input(sys, ctx));
  }

  bus_status status() { return status_of(asker, bus); }

  /// Waits until the bus reports nothing in flight for input 0.
  bool await_all_acked(std::chrono::milliseconds limit = 5000ms) {
    return wait_until(
      [&] {
        auto st = status();
        return st.in_flight.size() == 1 && st.in_flight[0] == 0;
      },
      limit);
  }

  /// Offsets and sequence numbers follow each other from 0; every block
  /// carries the stream's name and origin, the source id of the command's one
  /// run, and is at most `block_size` long.
  void check_blocks(std::uint64_t block_size) {
    ASSERT_FALSE(probe.blocks.empty());
    const auto source_id = probe.blocks[0].source_id;
    EXPECT_NE(source_id, 0u);
    std::uint64_t offset = 0;
    for (std::size_t i = 0; i < probe.blocks.size(); ++i) {
      const auto& b = probe.blocks[i];
      SCOPED_TRACE("block " + std::to_string(i));
      EXPECT_EQ(b.origin, "test-agent");
      EXPECT_EQ(b.file_name, "commands/out.log");
      EXPECT_EQ(b.input, 0u);
      EXPECT_EQ(b.seq, i);
      EXPECT_EQ(b.offset, offset);
      EXPECT_EQ(b.flags, 0u);
      EXPECT_EQ(b.source_id, source_id);
      EXPECT_GT(b.bytes.size(), 0u);
      EXPECT_LE(b.bytes.size(), block_size);
      offset += b.bytes.size();
    }
  }

  real_config cfg;
  caf::actor_system sys{cfg};
  probe_collector probe{sys, 5000ms}; // receives the blocks
  caf::scoped_actor asker{sys}; // asks the bus for its status
  std::vector<caf::actor> owned;
  bus_actor bus;
  probe_output_actor output;
  input_actor input;
};

constexpr std::chrono::microseconds never = std::chrono::hours(1);

TEST_F(exec_input_test, ships_the_command_output_exactly) {
  start("printf 'a\\nb\\nc\\n'", 64 * 1024, 16, never);
  ASSERT_TRUE(probe.collect_bytes(6)) << "got: " << probe.received_text();
  ASSERT_TRUE(await_all_acked());
  probe.collect_pending();
  EXPECT_EQ(probe.received_text(), "a\nb\nc\n");
  check_blocks(64 * 1024);
  auto st = status();
  EXPECT_EQ(st.published, probe.blocks.size());
  EXPECT_EQ(st.unacked, std::vector<std::uint64_t>{0});
}

TEST_F(exec_input_test, ships_output_larger_than_a_block_in_blocks) {
  constexpr std::size_t total = 1000000;
  constexpr std::uint64_t block_size = 64 * 1024;
  start("head -c 1000000 /dev/zero | tr '\\0' x", block_size, 16, never);
  ASSERT_TRUE(probe.collect_bytes(total)) << "got " << probe.received_size() << " bytes";
  ASSERT_TRUE(await_all_acked());
  probe.collect_pending();
  ASSERT_EQ(probe.received_size(), total);
  EXPECT_EQ(probe.received_text(), std::string(total, 'x'));
  EXPECT_GE(probe.blocks.size(), (total + block_size - 1) / block_size);
  check_blocks(block_size);
  EXPECT_EQ(status().published, probe.blocks.size());
}

TEST_F(exec_input_test, never_has_more_than_its_window_in_flight) {
  constexpr std::size_t total = 1000;
  constexpr std::uint64_t block_size = 100;
  // tr writes the 1000 bytes at once: ten blocks' worth wait in the pipe.
  start("head -c 1000 /dev/zero | tr '\\0' y", block_size, 2, never, true);
  ASSERT_TRUE(probe.collect_until([&] { return probe.blocks.size() >= 2; }));
  // Stalled: the input holds at its window.
  ASSERT_TRUE(wait_until([&] {
    auto st = status();
    return st.in_flight == std::vector<std::uint64_t>{2};
  }));
  probe.collect_pending();
  EXPECT_EQ(probe.blocks.size(), 2u);
  auto st = status();
  EXPECT_EQ(st.published, 2u);
  EXPECT_EQ(st.unacked, std::vector<std::uint64_t>{2});
  // Unstalled: everything arrives, and there were never more than 2 in flight.
  caf::anon_send(output, tick_atom_v);
  ASSERT_TRUE(probe.collect_bytes(total)) << "got " << probe.received_size() << " bytes";
  ASSERT_TRUE(await_all_acked());
  probe.collect_pending();
  EXPECT_EQ(probe.received_text(), std::string(total, 'y'));
  check_blocks(block_size);
  st = status();
  EXPECT_EQ(st.max_in_flight, std::vector<std::uint64_t>{2});
  EXPECT_EQ(st.published, probe.blocks.size());
}

TEST_F(exec_input_test, runs_the_command_again_after_it_exits) {
  start("echo run", 64 * 1024, 16, 100ms);
  ASSERT_TRUE(probe.collect_until([&] { return probe.blocks.size() >= 2; }))
    << "runs seen: " << probe.blocks.size();
  EXPECT_EQ(std::string(probe.blocks[0].bytes.begin(), probe.blocks[0].bytes.end()), "run\n");
  EXPECT_EQ(std::string(probe.blocks[1].bytes.begin(), probe.blocks[1].bytes.end()), "run\n");
  // One stream across runs: offsets and sequence numbers go on.
  EXPECT_EQ(probe.blocks[0].offset, 0u);
  EXPECT_EQ(probe.blocks[1].offset, 4u);
  EXPECT_EQ(probe.blocks[0].seq, 0u);
  EXPECT_EQ(probe.blocks[1].seq, 1u);
  EXPECT_EQ(probe.blocks[1].file_name, "commands/out.log");
  // Each run is a generation of its own.
  EXPECT_NE(probe.blocks[0].source_id, 0u);
  EXPECT_NE(probe.blocks[1].source_id, 0u);
  EXPECT_NE(probe.blocks[0].source_id, probe.blocks[1].source_id);
}

TEST_F(exec_input_test, stop_terminates_a_long_running_command) {
  // The shell prints its pid, which is also its process group.
  start("echo $$; sleep 100 | cat", 64 * 1024, 16, 100ms);
  ASSERT_TRUE(probe.collect_until([&] {
    auto text = probe.received_text();
    return !text.empty() && text.back() == '\n';
  }));
  auto pgid = static_cast<pid_t>(std::stol(probe.received_text()));
  ASSERT_GT(pgid, 1);
  ASSERT_TRUE(wait_until([&] {
    auto members = group_comms(pgid);
    return std::count(members.begin(), members.end(), "sleep") == 1
           && std::count(members.begin(), members.end(), "cat") == 1;
  })) << "the pipeline did not start";
  caf::anon_send(input, stop_atom_v);
  EXPECT_TRUE(wait_until([&] { return group_comms(pgid).empty(); }))
    << "left behind: " << ::testing::PrintToString(group_comms(pgid));
  // The shell itself is reaped, not a zombie.
  EXPECT_TRUE(wait_until([&] {
    return !std::ifstream("/proc/" + std::to_string(pgid) + "/stat").good();
  }));
  // Stopped for good: the command is not run again (restart_delay is 100 ms),
  // and the input still answers (it keeps taking acks after stop).
  auto before = status().published;
  std::this_thread::sleep_for(300ms); // three restart delays: a negative check
  probe.collect_pending();
  EXPECT_EQ(status().published, before);
  EXPECT_EQ(probe.received_text(), std::to_string(pgid) + "\n");
}

TEST_F(exec_input_test, exiting_the_actor_terminates_its_command) {
  start("echo $$; exec sleep 100", 64 * 1024, 16, never);
  ASSERT_TRUE(probe.collect_until([&] {
    auto text = probe.received_text();
    return !text.empty() && text.back() == '\n';
  }));
  auto pgid = static_cast<pid_t>(std::stol(probe.received_text()));
  ASSERT_TRUE(wait_until([&] { return !group_comms(pgid).empty(); }));
  caf::anon_send_exit(input, caf::exit_reason::user_shutdown);
  EXPECT_TRUE(wait_until([&] { return group_comms(pgid).empty(); }));
}

} // namespace
} // namespace logpipe::test
