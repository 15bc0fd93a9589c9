// The caf input under the deterministic scheduler, with a middleman double, a
// recording bus and link doubles: publishing on `listen`, numbering blocks
// as its own within its window, answering a link only once the bus acked,
// the protocol version check and stopping.

#include "actors/builtin/builtin_kinds.hpp"
#include "actors/caf_link/caf_ingress.hpp"

#include "test/caf_link/fake_network.hpp"
#include "test/support/actor_fixture.hpp"
#include "test/support/log_capture.hpp"
#include "test/support/recording_bus.hpp"

#include "actors/core/component_registry.hpp"
#include "config/config.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace logpipe::test {
namespace {

using namespace std::chrono_literals;

/// What a link double was told.
struct link_record {
  /// (input, seq) of every delivered message, in order.
  std::vector<std::pair<std::uint32_t, std::uint64_t>> delivered;
  std::optional<std::uint32_t> hello_answer;
};

/// A link double: says hello with `version` at start, records answers.
caf::behavior fake_link(caf::event_based_actor* self, caf::actor ingress,
                        std::uint32_t version, std::shared_ptr<link_record> rec) {
  self->request(ingress, 5s, hello_atom_v, version).then([=](std::uint32_t theirs) {
    rec->hello_answer = theirs;
  });
  return {
    [=](delivered_atom, std::uint32_t input, std::uint64_t seq) {
      rec->delivered.emplace_back(input, seq);
    },
  };
}

/// Records why a watched actor ended.
caf::behavior watcher(caf::event_based_actor* self, caf::actor watched,
                      std::shared_ptr<std::optional<caf::error>> reason) {
  self->monitor(watched);
  self->set_down_handler([=](caf::down_msg& msg) { *reason = msg.reason; });
  return {[](int) {}};
}

constexpr std::uint32_t input_index = 4;

class caf_ingress_test : public actor_fixture {
protected:
  caf_ingress_test() {
    register_builtin_kinds(kinds);
    bus_rec->first_seq = 100;
    bus = own(sys.spawn(recording_bus, bus_rec));
    network = own(sys.spawn(fake_network, net_rec));
  }

  caf::actor start(const std::string& keys, std::uint32_t version = protocol_version) {
    auto cfg = config::load_string("[[inputs]]\ntype = \"caf\"\n" + keys, "/tmp/agent.toml",
                                   kinds);
    component_context ctx;
    ctx.config = cfg.inputs.at(0);
    ctx.index = input_index;
    ctx.bus = bus;
    ingress = caf::actor_cast<caf::actor>(own(sys.spawn(caf_ingress, ctx, network, version)));
    run();
    return ingress;
  }

  caf::actor add_link(std::shared_ptr<link_record> rec,
                      std::uint32_t version = protocol_version) {
    auto link = own(sys.spawn(fake_link, ingress, version, rec));
    run();
    return link;
  }

  /// `link` sends a block it numbered (input, seq).
  void send_block(const caf::actor& link, std::uint32_t input, std::uint64_t seq) {
    log_block blk;
    blk.origin = "collector";
    blk.file_name = "a.log";
    blk.offset = seq * 100;
    blk.source_id = 5;
    blk.input = input;
    blk.seq = seq;
    blk.bytes.assign(100, 'x');
    caf::send_as(link, ingress, publish_atom_v, std::move(blk));
    run();
  }

  /// The bus acks the block it knows as `seq`.
  void bus_acks(std::uint64_t seq) {
    caf::anon_send(ingress, ack_atom_v, seq);
    run();
  }

  std::vector<std::uint64_t> published_seqs() const {
    std::vector<std::uint64_t> out;
    for (const auto& blk : bus_rec->published) {
      EXPECT_EQ(blk.input, input_index);
      out.push_back(blk.seq);
    }
    return out;
  }

  component_registry kinds;
  std::shared_ptr<bus_record> bus_rec = std::make_shared<bus_record>();
  std::shared_ptr<network_record> net_rec = std::make_shared<network_record>();
  bus_actor bus;
  caf::io::middleman_actor network;
  caf::actor ingress;
};

using seqs = std::vector<std::uint64_t>;
using delivered_list = std::vector<std::pair<std::uint32_t, std::uint64_t>>;

TEST_F(caf_ingress_test, publishes_itself_on_its_listen_address) {
  start("listen = \"127.0.0.1:5252\"\n");
  ASSERT_EQ(net_rec->publishes.size(), 1u);
  EXPECT_EQ(net_rec->publishes[0], std::make_pair(std::string("127.0.0.1"), std::uint16_t{5252}));
  EXPECT_EQ(bus_rec->inputs_attached, std::vector<std::uint32_t>{input_index});
}

TEST_F(caf_ingress_test, answers_a_link_only_once_the_bus_acked_its_block) {
  start("listen = \"127.0.0.1:5252\"\nwindow = 2\n");
  auto rec = std::make_shared<link_record>();
  auto link = add_link(rec);
  send_block(link, 7, 40);
  send_block(link, 7, 41);
  send_block(link, 7, 42);
  EXPECT_EQ(published_seqs(), (seqs{100, 101})) << "numbered as its own, within the window";
  EXPECT_EQ(bus_rec->published[0].offset, 4000u);
  EXPECT_EQ(bus_rec->published[0].source_id, 5u);
  EXPECT_EQ(bus_rec->published[0].bytes, std::vector<char>(100, 'x'));
  EXPECT_TRUE(rec->delivered.empty()) << "nothing is answered before the bus acked";

  bus_acks(101);
  EXPECT_EQ(rec->delivered, (delivered_list{{7, 41}}));
  EXPECT_EQ(published_seqs(), (seqs{100, 101, 102}));
  bus_acks(100);
  bus_acks(102);
  EXPECT_EQ(rec->delivered, (delivered_list{{7, 41}, {7, 40}, {7, 42}}));

  bus_acks(102); // twice: ignored
  EXPECT_EQ(rec->delivered.size(), 3u);
}

TEST_F(caf_ingress_test, answers_each_link_for_its_own_blocks) {
  start("listen = \"127.0.0.1:5252\"\n");
  auto a = std::make_shared<link_record>();
  auto b = std::make_shared<link_record>();
  auto link_a = add_link(a);
  auto link_b = add_link(b);
  send_block(link_a, 0, 1);
  send_block(link_b, 0, 1); // the same numbers at another agent
  bus_acks(101);
  bus_acks(100);
  EXPECT_EQ(a->delivered, (delivered_list{{0, 1}}));
  EXPECT_EQ(b->delivered, (delivered_list{{0, 1}}));
}

TEST_F(caf_ingress_test, tells_a_link_its_protocol_version_whatever_the_link_speaks) {
  log_capture logged;
  start("listen = \"127.0.0.1:5252\"\n");
  auto same = std::make_shared<link_record>();
  auto other = std::make_shared<link_record>();
  add_link(same);
  EXPECT_FALSE(logged.contains("refused"));
  add_link(other, protocol_version + 1);
  EXPECT_EQ(same->hello_answer, protocol_version);
  EXPECT_EQ(other->hello_answer, protocol_version) << "the link refuses on seeing it";
  EXPECT_TRUE(logged.contains("refused a link from")) << logged.text();
  EXPECT_TRUE(logged.contains("it speaks log_block protocol version "
                              + std::to_string(protocol_version + 1) + ", this agent speaks "
                              + std::to_string(protocol_version)))
    << logged.text();
}

TEST_F(caf_ingress_test, stops_publishing_and_closes_its_port_on_stop) {
  start("listen = \"127.0.0.1:5252\"\nwindow = 1\n");
  auto rec = std::make_shared<link_record>();
  auto link = add_link(rec);
  send_block(link, 0, 1);
  send_block(link, 0, 2); // waits for credit
  auto answer = std::make_shared<std::optional<bool>>();
  sys.spawn([=](caf::event_based_actor* self) {
    self->request(caf::actor_cast<input_actor>(ingress), 5s, stop_atom_v)
      .then([=](bool drained) { *answer = drained; });
  });
  run();
  EXPECT_EQ(net_rec->unpublished, std::vector<std::uint16_t>{5252});
  EXPECT_FALSE(answer->has_value()) << "a received block still waits for the bus";
  bus_acks(100);
  EXPECT_EQ(published_seqs(), (seqs{100, 101}));
  EXPECT_EQ(*answer, std::optional<bool>(true));
  send_block(link, 0, 3); // too late: not taken, so not answered either
  bus_acks(101);
  EXPECT_EQ(published_seqs(), (seqs{100, 101}));
  EXPECT_EQ(rec->delivered, (delivered_list{{0, 1}, {0, 2}}));
}

TEST_F(caf_ingress_test, ends_with_an_error_when_it_cannot_listen) {
  net_rec->refuse_publish = true;
  start("listen = \"127.0.0.1:5252\"\n");
  auto reason = std::make_shared<std::optional<caf::error>>();
  // Already ended: monitoring it reports its exit reason at once.
  sys.spawn(watcher, ingress, reason);
  run();
  ASSERT_TRUE(reason->has_value());
  EXPECT_EQ(**reason, caf::sec::cannot_open_port);
}

} // namespace
} // namespace logpipe::test
