// The caf output under the deterministic scheduler, in front of a recording
// bus, a middleman double and ingress doubles: the window, acks only once the
// remote agent delivered, resending in order after the link drops, backoff,
// failover and the protocol version check.

#include "actors/builtin/builtin_kinds.hpp"
#include "actors/caf_link/caf_link.hpp"

#include "test/caf_link/fake_network.hpp"
#include "test/support/actor_fixture.hpp"
#include "test/support/log_capture.hpp"
#include "test/support/recording_bus.hpp"

#include "actors/core/component_registry.hpp"
#include "config/config.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace logpipe::test {
namespace {

using namespace std::chrono_literals;

/// What an ingress double received.
struct ingress_record {
  /// The protocol version it answers to hello.
  std::uint32_t version = protocol_version;
  int hellos = 0;
  std::vector<log_block> received;
  std::vector<caf::strong_actor_ptr> senders;

  std::vector<std::uint64_t> seqs() const {
    std::vector<std::uint64_t> out;
    for (const auto& blk : received)
      out.push_back(blk.seq);
    return out;
  }
};

caf::behavior fake_ingress(caf::event_based_actor* self, std::shared_ptr<ingress_record> rec) {
  return {
    [=](hello_atom, std::uint32_t) {
      ++rec->hellos;
      return rec->version;
    },
    [=](publish_atom, const log_block& blk) {
      rec->received.push_back(blk);
      rec->senders.push_back(self->current_sender());
    },
  };
}

constexpr std::uint32_t output_index = 2;
constexpr std::uint32_t input_index = 1;

class caf_link_test : public actor_fixture {
protected:
  caf_link_test() {
    register_builtin_kinds(kinds);
    bus = own(sys.spawn(recording_bus, bus_rec));
    network = own(sys.spawn(fake_network, net_rec));
  }

  /// Spawns the output with these keys (TOML lines) and runs.
  caf_link_actor start(const std::string& keys, std::uint32_t version = protocol_version) {
    auto cfg = config::load_string("[[outputs]]\ntype = \"caf\"\n" + keys,
                                   "/tmp/agent.toml", kinds);
    component_context ctx;
    ctx.config = cfg.outputs.at(0);
    ctx.index = output_index;
    ctx.bus = bus;
    link = own(sys.spawn(caf_link, ctx, network, version));
    run();
    return link;
  }

  /// An ingress double reachable at `where`.
  caf::actor add_ingress(const std::string& where, std::shared_ptr<ingress_record> rec) {
    auto ingress = own(sys.spawn(fake_ingress, rec));
    net_rec->reachable[where] = ingress;
    return caf::actor_cast<caf::actor>(ingress);
  }

  /// The bus publishes `count` blocks of stream `file` to the output.
  void publish(std::size_t count, const std::string& file = "a.log") {
    for (std::size_t i = 0; i < count; ++i) {
      log_block blk;
      blk.origin = "collector";
      blk.file_name = file;
      blk.offset = next_seq * 10;
      blk.source_id = 77;
      blk.input = input_index;
      blk.seq = next_seq++;
      blk.bytes.assign(10, static_cast<char>('a' + blk.seq % 26));
      caf::anon_send(link, publish_atom_v, std::move(blk));
    }
    run();
  }

  /// The remote ingress says the block `seq` is delivered.
  void deliver(std::uint64_t seq) {
    caf::anon_send(link, delivered_atom_v, input_index, seq);
    run();
  }

  std::vector<std::uint64_t> acked_seqs() const {
    std::vector<std::uint64_t> out;
    for (const auto& [output, input, seq] : bus_rec->acks) {
      EXPECT_EQ(output, output_index);
      EXPECT_EQ(input, input_index);
      out.push_back(seq);
    }
    return out;
  }

  component_registry kinds;
  std::shared_ptr<bus_record> bus_rec = std::make_shared<bus_record>();
  std::shared_ptr<network_record> net_rec = std::make_shared<network_record>();
  bus_actor bus;
  caf::io::middleman_actor network;
  caf_link_actor link;
  std::uint64_t next_seq = 0;
};

using seqs = std::vector<std::uint64_t>;

TEST_F(caf_link_test, sends_at_most_its_window_and_acks_only_what_the_remote_delivered) {
  auto remote = std::make_shared<ingress_record>();
  add_ingress("10.0.0.1:5252", remote);
  start("connect = \"10.0.0.1:5252\"\nwindow = 3\n");
  EXPECT_EQ(net_rec->connects, std::vector<std::string>{"10.0.0.1:5252"});
  EXPECT_EQ(remote->hellos, 1);
  EXPECT_EQ(bus_rec->outputs_attached, std::vector<std::uint32_t>{output_index});

  publish(5);
  EXPECT_EQ(remote->seqs(), (seqs{0, 1, 2}));
  EXPECT_TRUE(bus_rec->acks.empty()) << "nothing is acked before the remote delivered it";
  EXPECT_EQ(remote->received[1].bytes, std::vector<char>(10, 'b'));
  EXPECT_EQ(remote->received[1].source_id, 77u);
  EXPECT_EQ(remote->senders[0], caf::actor_cast<caf::strong_actor_ptr>(link))
    << "the ingress must be able to answer the link";

  deliver(1); // out of order
  EXPECT_EQ(acked_seqs(), (seqs{1}));
  EXPECT_EQ(remote->seqs(), (seqs{0, 1, 2, 3}));
  deliver(0);
  deliver(2);
  deliver(3);
  EXPECT_EQ(acked_seqs(), (seqs{1, 0, 2, 3}));
  EXPECT_EQ(remote->seqs(), (seqs{0, 1, 2, 3, 4}));

  deliver(3); // twice, or never sent: ignored
  deliver(99);
  EXPECT_EQ(acked_seqs(), (seqs{1, 0, 2, 3}));
}

TEST_F(caf_link_test, sends_what_was_not_delivered_again_in_order_after_the_link_drops) {
  auto first = std::make_shared<ingress_record>();
  auto old_ingress = add_ingress("10.0.0.1:5252", first);
  start("connect = \"10.0.0.1:5252\"\nwindow = 4\n");
  publish(6);
  deliver(0);
  deliver(2);
  ASSERT_EQ(first->seqs(), (seqs{0, 1, 2, 3, 4, 5}));

  // The remote agent dies and comes back (a new ingress at the same place).
  auto second = std::make_shared<ingress_record>();
  add_ingress("10.0.0.1:5252", second);
  caf::anon_send_exit(old_ingress, caf::exit_reason::kill);
  run();
  publish(1); // arrives while the link is down: waits behind the others
  EXPECT_TRUE(second->received.empty()) << "nothing is sent before the link is back";
  EXPECT_EQ(net_rec->connects.size(), 1u);

  advance(100ms); // first backoff
  EXPECT_EQ(net_rec->connects.size(), 2u);
  EXPECT_EQ(second->hellos, 1);
  EXPECT_EQ(second->seqs(), (seqs{1, 3, 4, 5})) << "undelivered blocks first, in order, "
                                                   "within the window";
  deliver(1);
  deliver(3);
  EXPECT_EQ(second->seqs(), (seqs{1, 3, 4, 5, 6}));
  EXPECT_EQ(acked_seqs(), (seqs{0, 2, 1, 3}));
}

TEST_F(caf_link_test, retries_with_a_doubling_backoff_while_nobody_answers) {
  start("connect = \"10.0.0.1:5252\"\n");
  publish(2);
  ASSERT_EQ(net_rec->connects.size(), 1u);
  advance(99ms);
  EXPECT_EQ(net_rec->connects.size(), 1u);
  advance(1ms);
  EXPECT_EQ(net_rec->connects.size(), 2u);
  advance(199ms);
  EXPECT_EQ(net_rec->connects.size(), 2u);
  advance(1ms);
  EXPECT_EQ(net_rec->connects.size(), 3u);
  advance(400ms);
  EXPECT_EQ(net_rec->connects.size(), 4u);
  advance(800ms);
  advance(1600ms);
  EXPECT_EQ(net_rec->connects.size(), 6u);
  // The backoff stops doubling at 2 s.
  advance(2s);
  advance(2s);
  EXPECT_EQ(net_rec->connects.size(), 8u);

  auto remote = std::make_shared<ingress_record>();
  add_ingress("10.0.0.1:5252", remote);
  advance(2s);
  EXPECT_EQ(remote->seqs(), (seqs{0, 1}));
  EXPECT_TRUE(bus_rec->acks.empty());
}

TEST_F(caf_link_test, fails_over_to_the_next_endpoint_with_what_was_not_delivered) {
  auto a = std::make_shared<ingress_record>();
  auto b = std::make_shared<ingress_record>();
  auto ingress_a = add_ingress("10.0.0.1:5252", a);
  add_ingress("10.0.0.2:5252", b);
  start("endpoints = [\"10.0.0.1:5252\", \"10.0.0.2:5252\"]\nbalance = \"failover\"\n"
        "disable_timeout = \"30s\"\n");
  publish(3);
  deliver(0);
  EXPECT_EQ(a->seqs(), (seqs{0, 1, 2}));
  EXPECT_TRUE(b->received.empty());

  caf::anon_send_exit(ingress_a, caf::exit_reason::kill);
  run();
  EXPECT_EQ(b->seqs(), (seqs{1, 2})) << "at once: the second endpoint is linked";
  publish(1);
  EXPECT_EQ(b->seqs(), (seqs{1, 2, 3}));

  // The first endpoint is left out for disable_timeout, then linked again
  // and preferred for what comes next.
  auto a_again = std::make_shared<ingress_record>();
  add_ingress("10.0.0.1:5252", a_again);
  advance(29s);
  EXPECT_EQ(a_again->hellos, 0);
  advance(1s);
  EXPECT_EQ(a_again->hellos, 1);
  publish(1);
  EXPECT_EQ(a_again->seqs(), (seqs{4}));
}

TEST_F(caf_link_test, round_robin_keeps_a_stream_on_its_endpoint) {
  auto a = std::make_shared<ingress_record>();
  auto b = std::make_shared<ingress_record>();
  add_ingress("10.0.0.1:5252", a);
  add_ingress("10.0.0.2:5252", b);
  start("endpoints = [\"10.0.0.1:5252\", \"10.0.0.2:5252\"]\n");
  publish(2, "x.log");
  publish(2, "y.log");
  publish(1, "x.log");
  EXPECT_EQ(a->seqs(), (seqs{0, 1, 4}));
  EXPECT_EQ(b->seqs(), (seqs{2, 3}));
}

TEST_F(caf_link_test, refuses_an_ingress_that_speaks_another_protocol_version) {
  log_capture logged;
  auto remote = std::make_shared<ingress_record>();
  remote->version = protocol_version + 1;
  add_ingress("10.0.0.1:5252", remote);
  start("connect = \"10.0.0.1:5252\"\ndisable_timeout = \"10s\"\n");
  publish(2);
  EXPECT_EQ(remote->hellos, 1);
  EXPECT_TRUE(remote->received.empty()) << "no block goes to a peer of another version";
  EXPECT_TRUE(logged.contains("refused the link to 10.0.0.1:5252: it speaks log_block "
                              "protocol version " + std::to_string(protocol_version + 1)
                              + ", this agent speaks " + std::to_string(protocol_version)))
    << logged.text();

  // Tried again only after disable_timeout: the peer may have been upgraded.
  remote->version = protocol_version;
  advance(9s);
  EXPECT_EQ(remote->hellos, 1);
  advance(1s);
  EXPECT_EQ(remote->hellos, 2);
  EXPECT_EQ(remote->seqs(), (seqs{0, 1}));
}

TEST_F(caf_link_test, a_link_of_another_version_refuses_this_one) {
  // Same check from the other side: this link speaks a newer version.
  auto remote = std::make_shared<ingress_record>();
  add_ingress("10.0.0.1:5252", remote);
  start("connect = \"10.0.0.1:5252\"\n", protocol_version + 1);
  publish(1);
  EXPECT_EQ(remote->hellos, 1);
  EXPECT_TRUE(remote->received.empty());
}

} // namespace
} // namespace logpipe::test
