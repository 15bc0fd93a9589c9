// The stdout output writing to a pipe, behind the real bus, with the real
// scheduler (it runs detached and blocks in write()). The test itself is the
// input: it attaches to the bus, publishes blocks and receives the acks.

#include "actors/core/bus.hpp"
#include "actors/stdio/stdout_output.hpp"
#include "test/support/actor_fixture.hpp"
#include "test/support/wait_until.hpp"

#include "messages/registration.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/after.hpp>
#include <caf/scoped_actor.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <set>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

namespace logpipe::test {
namespace {

using namespace std::chrono_literals;

class stdout_output_test : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    // A write to a pipe without reader must fail with EPIPE, not kill us.
    std::signal(SIGPIPE, SIG_IGN);
  }

  stdout_output_test() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe2 failed");
    read_fd = fds[0];
    write_fd = fds[1];
  }

  ~stdout_output_test() override {
    // Closing the read end first fails a write() the output may be blocked in.
    if (read_fd >= 0)
      ::close(read_fd);
    for (auto& hdl : owned)
      caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
    // The output must be gone before its descriptor closes.
    self->wait_for(owned);
    ::close(write_fd);
  }

  template <class Handle>
  Handle own(Handle hdl) {
    owned.push_back(caf::actor_cast<caf::actor>(hdl));
    return hdl;
  }

  /// The bus with one blocking output, the stdout output on the pipe, and the
  /// test attached as input 0.
  void start() {
    bus = own(sys.spawn(logpipe::bus, std::vector<output_policy>{{"stdout", false, 64}}));
    component_context ctx;
    ctx.config.kind_role = config::role::output;
    ctx.config.type = "stdout";
    ctx.config.name = "stdout#1";
    ctx.index = 0;
    ctx.bus = bus;
    ctx.agent_name = "test-agent";
    // Detached, as spawn_stdout_output does, but writing to our pipe.
    output = own(sys.spawn<caf::detached>(stdout_output, ctx, write_fd));
    self->request(bus, 5s, attach_atom_v, input_atom_v, std::uint32_t{0})
      .receive([&](std::uint64_t first) { next_seq = first; },
               [&](caf::error& err) { FAIL() << sys.render(err); });
  }

  std::uint64_t publish(std::string text) {
    log_block blk;
    blk.origin = "test-agent";
    blk.file_name = "test.log";
    blk.offset = offset;
    blk.input = 0;
    blk.seq = next_seq++;
    blk.bytes.assign(text.begin(), text.end());
    offset += text.size();
    auto seq = blk.seq;
    self->send(bus, publish_atom_v, std::move(blk));
    return seq;
  }

  /// Receives acks until `count` arrived or the deadline passes.
  std::vector<std::uint64_t> await_acks(std::size_t count,
                                        std::chrono::milliseconds limit = 5000ms) {
    std::vector<std::uint64_t> acks;
    auto deadline = clock_type::now() + limit;
    while (acks.size() < count) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - clock_type::now());
      if (left.count() <= 0)
        break;
      self->receive([&](ack_atom, std::uint64_t seq) { acks.push_back(seq); },
                    caf::after(left) >> [] {});
    }
    return acks;
  }

  /// Reads exactly `size` bytes from the pipe, or fewer at the deadline.
  std::string read_exactly(std::size_t size, std::chrono::milliseconds limit = 5000ms) {
    std::string result;
    auto deadline = clock_type::now() + limit;
    std::vector<char> buf(64 * 1024);
    while (result.size() < size) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - clock_type::now());
      if (left.count() <= 0)
        break;
      pollfd p{read_fd, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        continue;
      auto n = ::read(read_fd, buf.data(), std::min(buf.size(), size - result.size()));
      if (n <= 0)
        break;
      result.append(buf.data(), static_cast<std::size_t>(n));
    }
    return result;
  }

  /// Whether the pipe holds anything more right now.
  bool pipe_is_empty() {
    pollfd p{read_fd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 0;
  }

  bus_status status() {
    bus_status result;
    self->request(bus, 5s, status_atom_v)
      .receive([&](bus_status& st) { result = std::move(st); },
               [&](caf::error& err) { ADD_FAILURE() << sys.render(err); });
    return result;
  }

  real_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  std::vector<caf::actor> owned;
  int read_fd = -1;
  int write_fd = -1;
  bus_actor bus;
  output_actor output;
  std::uint64_t next_seq = 0;
  std::uint64_t offset = 0;
};

TEST_F(stdout_output_test, writes_every_block_in_order_and_acks_each) {
  start();
  std::vector<std::string> texts = {"first line\n", "second", " line\n", "",
                                    std::string(10000, 'z') + "\n", "last\n"};
  std::string expected;
  std::set<std::uint64_t> sent;
  for (const auto& t : texts) {
    expected += t;
    sent.insert(publish(t));
  }
  auto acks = await_acks(texts.size());
  EXPECT_EQ(std::set<std::uint64_t>(acks.begin(), acks.end()), sent);
  EXPECT_EQ(acks.size(), texts.size()) << "each block acked once";
  // Acked only after the write: everything is in the pipe now, nothing more.
  EXPECT_EQ(read_exactly(expected.size()), expected);
  EXPECT_TRUE(pipe_is_empty());
  auto st = status();
  EXPECT_EQ(st.in_flight, std::vector<std::uint64_t>{0});
  EXPECT_EQ(st.unacked, std::vector<std::uint64_t>{0});
  EXPECT_EQ(st.published, texts.size());
}

TEST_F(stdout_output_test, writes_more_than_the_pipe_holds_while_the_reader_drains) {
  start();
  // 2 MiB: the output blocks in write() until the reader below catches up.
  constexpr std::size_t count = 32;
  constexpr std::size_t size = 64 * 1024;
  std::string expected;
  for (std::size_t i = 0; i < count; ++i) {
    std::string text(size, static_cast<char>('a' + i % 26));
    expected += text;
    publish(text);
  }
  auto got = read_exactly(expected.size());
  ASSERT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected) << "bytes differ or are out of order";
  EXPECT_EQ(await_acks(count).size(), count);
  auto st = status();
  EXPECT_EQ(st.in_flight, std::vector<std::uint64_t>{0});
  EXPECT_TRUE(pipe_is_empty());
}

TEST_F(stdout_output_test, a_write_error_stops_the_output_with_an_error) {
  start();
  self->monitor(output);
  publish("before\n");
  ASSERT_EQ(await_acks(1).size(), 1u);
  EXPECT_EQ(read_exactly(7), "before\n");
  // Nobody reads any more: the next write fails with EPIPE.
  ::close(read_fd);
  read_fd = -1;
  publish("lost\n");
  caf::error reason;
  bool down = false;
  self->receive(
    [&](caf::down_msg& msg) {
      down = true;
      reason = msg.reason;
    },
    caf::after(5s) >> [] {});
  ASSERT_TRUE(down) << "the output did not quit";
  EXPECT_TRUE(reason);
  EXPECT_NE(reason, caf::exit_reason::normal);
  EXPECT_EQ(reason, caf::sec::runtime_error) << sys.render(reason);
  // Not acked: the bus keeps the block for the output's successor.
  auto st = status();
  EXPECT_EQ(st.in_flight, std::vector<std::uint64_t>{1});
  EXPECT_EQ(st.unacked, std::vector<std::uint64_t>{1});
}

} // namespace
} // namespace logpipe::test
