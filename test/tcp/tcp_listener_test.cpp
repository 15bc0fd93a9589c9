// The tcp input (tcp_listener and its tcp_sessions) with the real scheduler
// and CAF's network layer, against real loopback clients: brokers need the
// middleman, which the deterministic test scheduler does not drive. A probe
// output forwards a copy of every block to the test.

#include "test/support/actor_fixture.hpp"
#include "test/support/bus_query.hpp"
#include "test/support/loopback.hpp"
#include "test/support/probe_collector.hpp"
#include "test/support/probe_output.hpp"
#include "test/support/wait_until.hpp"

#include "actors/core/bus.hpp"
#include "actors/tcp/tcp_listener.hpp"
#include "actors/tcp/wire.hpp"

#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace logpipe::test {
namespace {

using namespace std::chrono_literals;

struct network_config : real_config {
  network_config() { load<caf::io::middleman>(); }
};

std::vector<char> message(const std::string& name, const std::string& data,
                          std::size_t max_block = wire::max_block_1x) {
  std::vector<char> out;
  wire::encode_message(name, data.data(), data.size(), out, max_block);
  return out;
}

std::string pattern(std::size_t size, char seed) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i)
    s[i] = static_cast<char>(seed + static_cast<char>(i % 23));
  return s;
}

class tcp_listener_test : public ::testing::Test {
protected:
  ~tcp_listener_test() override {
    // As the supervisor does: stop the input (its sessions close their
    // connections), then end everything. CAF 0.17 never frees a broker whose
    // listener was killed while its connection was open (a leak only at
    // shutdown, which LeakSanitizer reports).
    if (input)
      asker->request(input, 5s, stop_atom_v).receive([](bool) {}, [](caf::error&) {});
    for (auto& hdl : owned)
      caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
    asker->wait_for(owned);
  }

  template <class Handle>
  Handle own(Handle hdl) {
    owned.push_back(caf::actor_cast<caf::actor>(hdl));
    return hdl;
  }

  /// The bus with the probe output, and the tcp input on a free port.
  void start(std::map<std::string, config::value> overrides = {}, bool stalled = false) {
    bus = own(sys.spawn(logpipe::bus, std::vector<output_policy>{{"probe", false, 1024}}));
    output = own(sys.spawn(probe_output, probe.handle(),
                           std::uint32_t{0}, bus, stalled));
    port = free_port();
    component_context ctx;
    ctx.config.kind_role = config::role::input;
    ctx.config.type = "tcp";
    ctx.config.name = "tcp#1";
    ctx.config.values["listen"] = "127.0.0.1:" + std::to_string(port);
    ctx.config.values["allow"] = config::string_list{};
    ctx.config.values["max_connections"] = std::int64_t{16};
    ctx.config.values["max_block"] = config::byte_size{wire::max_block_1x};
    ctx.config.values["max_name"] = std::int64_t{255};
    ctx.config.values["window"] = std::int64_t{8};
    for (auto& [key, value] : overrides)
      ctx.config.values[key] = value;
    ctx.index = 0;
    ctx.bus = bus;
    ctx.agent_name = "aggregator";
    input = own(spawn_tcp_input(sys, ctx));
  }

  bus_status status() { return status_of(asker, bus); }

  network_config cfg;
  caf::actor_system sys{cfg};
  probe_collector probe{sys, 10s};
  caf::scoped_actor asker{sys};
  std::vector<caf::actor> owned;
  bus_actor bus;
  probe_output_actor output;
  input_actor input;
  std::uint16_t port = 0;
};

TEST_F(tcp_listener_test, takes_the_blocks_of_several_connections_whole_and_in_order) {
  start();
  auto a = pattern(300000, 'a');
  auto b = pattern(150000, 'A');
  client_socket first{port};
  client_socket second{port};
  // Interleaved messages, in pieces that cut frames anywhere.
  auto a1 = message("a.log", a.substr(0, 100000));
  auto a2 = message("a.log", a.substr(100000));
  auto b1 = message("b.log", b, 4096);
  ASSERT_TRUE(first.send_all(a1.data(), 7));
  ASSERT_TRUE(second.send_all(b1.data(), 12345));
  ASSERT_TRUE(first.send_all(a1.data() + 7, a1.size() - 7));
  ASSERT_TRUE(second.send_all(b1.data() + 12345, b1.size() - 12345));
  ASSERT_TRUE(first.send_all(a2));
  ASSERT_TRUE(probe.collect_bytes("a.log", a.size()));
  ASSERT_TRUE(probe.collect_bytes("b.log", b.size()));
  EXPECT_EQ(probe.received_text("a.log"), a);
  EXPECT_EQ(probe.received_text("b.log"), b);
  std::set<std::uint64_t> seqs;
  for (const auto& blk : probe.blocks) {
    EXPECT_EQ(blk.origin, "127.0.0.1");
    EXPECT_EQ(blk.input, 0u);
    EXPECT_LE(blk.bytes.size(), wire::max_block_1x);
    seqs.insert(blk.seq);
  }
  EXPECT_EQ(seqs.size(), probe.blocks.size()) << "every block has its own sequence number";
  // b.log went in blocks of 4096 bytes: each wire block is one block.
  EXPECT_EQ(std::count_if(probe.blocks.begin(), probe.blocks.end(),
                          [](const log_block& blk) { return blk.file_name == "b.log"; }),
            static_cast<long>((b.size() + 4095) / 4096));
}


struct malformed_case {
  const char* what;
  std::vector<char> bytes;
};

std::vector<malformed_case> malformed_cases() {
  std::vector<malformed_case> cases;
  auto good = message("bad.log", "not shipped");
  auto bad_magic = good;
  bad_magic[0] = 'A';
  cases.push_back({"bad magic", bad_magic});
  auto padding = good;
  padding[1 + 2 + 7 + 5] = 1; // inside the 4 zero bytes of the length field
  cases.push_back({"non-zero padding", padding});
  cases.push_back({"block over max_block", message("bad.log", pattern(2000, 'x'), 2000)});
  cases.push_back({"name over max_name", message(std::string(100, 'n'), "x")});
  for (const char* name : {"../escape.log", "/etc/passwd", "sub/dir.log", "..", "line\nbreak"})
    cases.push_back({name, message(name, "hostile")});
  std::string with_nul("nul\0name", 8);
  cases.push_back({"NUL in name", message(with_nul, "hostile")});
  return cases;
}

TEST_F(tcp_listener_test, a_malformed_frame_closes_only_its_connection) {
  start({{"max_block", config::byte_size{1000}}, {"max_name", std::int64_t{64}}});
  client_socket steady{port};
  std::string steady_text;
  int round = 0;
  for (const auto& c : malformed_cases()) {
    SCOPED_TRACE(c.what);
    client_socket client{port};
    auto good_name = "good" + std::to_string(round) + ".log";
    ASSERT_TRUE(client.send_all(message(good_name, "kept", 1000)));
    client.send_all(c.bytes);
    EXPECT_TRUE(client.closed_by_peer()) << "the connection is closed";
    auto more = "steady " + std::to_string(round) + "\n";
    steady_text += more;
    ASSERT_TRUE(steady.send_all(message("steady.log", more, 1000)));
    ASSERT_TRUE(probe.collect_bytes("steady.log", steady_text.size()));
    ASSERT_TRUE(probe.collect_bytes(good_name, 4));
    EXPECT_EQ(probe.received_text(good_name), "kept") << "a whole block before the error is kept";
    ++round;
  }
  probe.collect_for(100ms);
  EXPECT_EQ(probe.received_text("steady.log"), steady_text) << "the other connection never noticed";
  for (const auto& blk : probe.blocks) {
    EXPECT_NE(blk.file_name, "bad.log");
    EXPECT_EQ(std::string(blk.bytes.begin(), blk.bytes.end()).find("hostile"),
              std::string::npos);
  }
}

TEST_F(tcp_listener_test, a_connection_closed_inside_a_block_keeps_the_blocks_before) {
  start();
  {
    client_socket client{port};
    auto whole = message("cut.log", "first block");
    auto second = message("cut.log", pattern(5000, 'q'));
    ASSERT_TRUE(client.send_all(whole));
    ASSERT_TRUE(client.send_all(second.data(), second.size() / 2));
  }
  ASSERT_TRUE(probe.collect_bytes("cut.log", 11));
  probe.collect_for(200ms);
  EXPECT_EQ(probe.received_text("cut.log"), "first block");
}

TEST_F(tcp_listener_test, allow_refuses_clients_outside_its_networks) {
  start({{"allow", config::string_list{"10.0.0.0/8", "192.168.0.0/16"}}});
  client_socket client{port};
  client.send_all(message("refused.log", "data"));
  EXPECT_TRUE(client.closed_by_peer());
  probe.collect_for(200ms);
  EXPECT_TRUE(probe.blocks.empty());
}

TEST_F(tcp_listener_test, allow_admits_clients_inside_its_networks) {
  start({{"allow", config::string_list{"10.0.0.0/8", "127.0.0.0/8"}}});
  client_socket client{port};
  ASSERT_TRUE(client.send_all(message("admitted.log", "data")));
  ASSERT_TRUE(probe.collect_bytes("admitted.log", 4));
  EXPECT_EQ(probe.received_text("admitted.log"), "data");
}

TEST_F(tcp_listener_test, connections_beyond_max_connections_are_refused) {
  start({{"max_connections", std::int64_t{1}}});
  auto first = std::make_unique<client_socket>(port);
  ASSERT_TRUE(first->send_all(message("first.log", "one")));
  ASSERT_TRUE(probe.collect_bytes("first.log", 3));
  {
    client_socket second{port};
    EXPECT_TRUE(second.closed_by_peer()) << "the second connection is refused";
  }
  first.reset();
  // Once the first is gone, a new client is taken (the listener learns of the
  // close asynchronously: retry until one is accepted).
  ASSERT_TRUE(wait_until([&] {
    client_socket third{port};
    if (!third.send_all(message("third.log", "three")))
      return false;
    return !third.closed_by_peer(300ms);
  })) << "a connection is accepted again";
  ASSERT_TRUE(probe.collect_bytes("third.log", 5));
}

TEST_F(tcp_listener_test, a_sender_stalled_inside_a_block_delays_no_other) {
  start();
  client_socket stalled{port};
  auto big = message("stalled.log", pattern(50000, 's'));
  ASSERT_TRUE(stalled.send_all(big.data(), big.size() / 2));
  client_socket other{port};
  auto text = pattern(200000, 'o');
  ASSERT_TRUE(other.send_all(message("other.log", text)));
  ASSERT_TRUE(probe.collect_bytes("other.log", text.size()));
  EXPECT_EQ(probe.received_text("other.log"), text);
  EXPECT_EQ(probe.received_text("stalled.log"), "");
  ASSERT_TRUE(stalled.send_all(big.data() + big.size() / 2, big.size() - big.size() / 2));
  ASSERT_TRUE(probe.collect_bytes("stalled.log", 50000));
}

TEST_F(tcp_listener_test, a_full_window_pushes_back_on_the_sender) {
  start({{"window", std::int64_t{2}}}, /*stalled=*/true);
  client_socket client{port};
  // 64 MiB in messages of one 64 KiB block each.
  const std::size_t block = 64 * 1024;
  const std::size_t total = 64u << 20;
  auto one = message("flood.log", pattern(block, 'f'));
  std::size_t accepted = 0; // bytes the kernel took from us
  auto stuck_since = clock_type::now();
  while (accepted < total && clock_type::now() - stuck_since < 1s) {
    auto at = accepted % one.size();
    auto n = client.send_some(one.data() + at, one.size() - at);
    if (n > 0)
      stuck_since = clock_type::now();
    else
      std::this_thread::sleep_for(1ms);
    accepted += n;
  }
  probe.collect_for(200ms);
  EXPECT_LT(accepted, total / 2) << "TCP pushed back: the sender could not write everything";
  EXPECT_EQ(probe.blocks.size(), 2u) << "no more than the window reached the output";
  EXPECT_LE(status().max_in_flight.at(0), 2u);
  // Acks return: everything the kernel took arrives, whole.
  caf::anon_send(output, tick_atom_v);
  auto whole_blocks = accepted / one.size();
  ASSERT_TRUE(probe.collect_until([&] { return probe.blocks.size() >= whole_blocks; }));
  for (const auto& blk : probe.blocks)
    ASSERT_EQ(blk.bytes.size(), block);
}

TEST_F(tcp_listener_test, stop_closes_the_connections_and_answers) {
  start();
  client_socket client{port};
  ASSERT_TRUE(client.send_all(message("before.log", "before stop")));
  ASSERT_TRUE(probe.collect_bytes("before.log", 11));
  bool answered = false;
  asker->request(input, 5s, stop_atom_v)
    .receive([&](bool drained) { answered = drained; },
             [&](caf::error& err) { ADD_FAILURE() << sys.render(err); });
  EXPECT_TRUE(answered);
  EXPECT_TRUE(client.closed_by_peer());
}

} // namespace
} // namespace logpipe::test
