// The bus under the deterministic scheduler: broadcast, zero-copy fan-out,
// the credit window, on_full = "drop", resend to a restarted output, detach (drop outputs only).

#include "actors/core/bus.hpp"

#include "test/core/test_components.hpp"
#include "test/support/actor_fixture.hpp"

#include <algorithm>
#include <numeric>

namespace logpipe::test {
namespace {

class bus_test : public actor_fixture {
protected:
  bus_actor make_bus(std::vector<output_policy> policies) {
    return own(sys.spawn(bus, std::move(policies)));
  }

  std::shared_ptr<sink_record> add_output(const bus_actor& b, std::uint32_t index,
                                          std::shared_ptr<sink_record> rec = nullptr) {
    if (!rec)
      rec = std::make_shared<sink_record>();
    outputs.push_back(own(sys.spawn(recording_output, rec, index, b)));
    return rec;
  }

  std::shared_ptr<source_record> add_producer(const bus_actor& b, std::uint32_t index,
                                              std::uint64_t window, std::uint64_t count,
                                              std::size_t block_size = 64 * 1024) {
    auto rec = std::make_shared<source_record>();
    own(sys.spawn(producer_input, rec, index, b, window, count, block_size));
    return rec;
  }

  // The status request is answered only once the scheduler runs the bus.
  bus_status run_status(const bus_actor& b) {
    bus_status result;
    auto pending = self->request(b, caf::infinite, status_atom_v);
    run();
    pending.receive([&](const bus_status& s) { result = s; },
                    [&](const caf::error& err) { ADD_FAILURE() << sys.render(err); });
    return result;
  }

  // Acks what a stalled output holds, as the output would, until it has
  // nothing left; returns how many acks that took.
  std::size_t release_held(const bus_actor& b, sink_record& rec, std::uint32_t index) {
    std::size_t total = 0;
    while (!rec.held.empty()) {
      auto held = std::move(rec.held);
      rec.held.clear();
      for (auto [input, seq] : held)
        caf::anon_send(b, ack_atom_v, index, input, seq);
      total += held.size();
      run();
    }
    return total;
  }

  static std::vector<std::uint64_t> seqs(const sink_record& rec) {
    std::vector<std::uint64_t> result;
    for (const auto& e : rec.received)
      result.push_back(e.seq);
    return result;
  }

  static std::vector<std::uint64_t> iota(std::uint64_t n) {
    std::vector<std::uint64_t> result(n);
    std::iota(result.begin(), result.end(), 0);
    return result;
  }

  caf::scoped_actor self{sys};
  std::vector<output_actor> outputs;
};

TEST_F(bus_test, broadcasts_every_block_to_one_output_in_order) {
  auto b = make_bus({{"out", false, 64}});
  auto out = add_output(b, 0);
  auto in = add_producer(b, 0, 4, 10);
  run();
  EXPECT_EQ(seqs(*out), iota(10));
  EXPECT_EQ(in->acked, iota(10));
  auto st = run_status(b);
  EXPECT_EQ(st.in_flight, std::vector<std::uint64_t>{0});
  EXPECT_EQ(st.published, 10u);
}

TEST_F(bus_test, broadcasts_one_shared_message_to_three_outputs_without_copying) {
  auto b = make_bus({{"a", false, 64}, {"b", false, 64}, {"c", false, 64}});
  std::vector<std::shared_ptr<sink_record>> outs;
  for (std::uint32_t i = 0; i < 3; ++i)
    outs.push_back(add_output(b, i));
  auto in = add_producer(b, 0, 8, 20);
  run();
  ASSERT_EQ(in->sent_data.size(), 20u);
  for (const auto& out : outs) {
    ASSERT_EQ(seqs(*out), iota(20));
    for (std::size_t i = 0; i < 20; ++i) {
      // The very bytes the input allocated: no output got a copy.
      EXPECT_EQ(out->received[i].data, in->sent_data[i]) << "block " << i;
      EXPECT_EQ(out->received[i].size, 64u * 1024);
    }
  }
  EXPECT_EQ(in->acked, iota(20));
}

TEST_F(bus_test, a_stalled_output_holds_the_input_to_its_window) {
  auto b = make_bus({{"slow", false, 64}});
  auto out = add_output(b, 0);
  out->stalled = true;
  auto in = add_producer(b, 0, 4, 100);
  run();
  EXPECT_EQ(out->received.size(), 4u);
  EXPECT_TRUE(in->acked.empty());
  auto st = run_status(b);
  EXPECT_EQ(st.in_flight, std::vector<std::uint64_t>{4});
  EXPECT_EQ(st.unacked, std::vector<std::uint64_t>{4});
  // Acking a few at a time lets it through, never beyond the window.
  EXPECT_EQ(release_held(b, *out, 0), 100u);
  EXPECT_EQ(seqs(*out), iota(100));
  EXPECT_EQ(in->acked, iota(100));
  st = run_status(b);
  EXPECT_EQ(st.max_in_flight, std::vector<std::uint64_t>{4});
  EXPECT_EQ(st.in_flight, std::vector<std::uint64_t>{0});
}

TEST_F(bus_test, a_full_drop_output_loses_blocks_but_never_holds_back_inputs) {
  auto b = make_bus({{"keep", false, 64}, {"lossy", true, 3}});
  auto keep = add_output(b, 0);
  auto lossy = add_output(b, 1);
  lossy->stalled = true;
  auto in = add_producer(b, 0, 4, 20);
  run();
  EXPECT_EQ(seqs(*keep), iota(20));
  EXPECT_EQ(in->acked, iota(20));
  EXPECT_EQ(seqs(*lossy), (std::vector<std::uint64_t>{0, 1, 2}));
  auto st = run_status(b);
  EXPECT_EQ(st.dropped, (std::vector<std::uint64_t>{0, 17}));
  EXPECT_EQ(st.unacked, (std::vector<std::uint64_t>{0, 3}));
}

TEST_F(bus_test, a_restarted_output_receives_what_it_had_not_acked) {
  auto b = make_bus({{"out", false, 64}});
  auto rec = add_output(b, 0);
  rec->stalled = true;
  auto in = add_producer(b, 0, 4, 50);
  run();
  ASSERT_EQ(seqs(*rec), iota(4));
  // The output dies without acking; its successor attaches under the same index.
  caf::anon_send_exit(outputs.back(), caf::exit_reason::kill);
  run();
  rec->stalled = false;
  rec->held.clear();
  rec->received.clear();
  add_output(b, 0, rec);
  run();
  EXPECT_EQ(seqs(*rec), iota(50));
  EXPECT_EQ(in->acked, iota(50));
  EXPECT_EQ(rec->spawns, 2);
}

TEST_F(bus_test, a_block_output_is_never_detached_its_blocks_keep_waiting) {
  auto b = make_bus({{"keep", false, 64}, {"stuck", false, 64}});
  auto keep = add_output(b, 0);
  auto stuck = add_output(b, 1);
  stuck->stalled = true;
  auto in = add_producer(b, 0, 4, 30);
  run();
  caf::anon_send(b, detach_atom_v, output_atom_v, std::uint32_t{1});
  run();
  // Acking its input now would ack blocks that output never wrote.
  EXPECT_EQ(in->acked.size(), 0u);
  EXPECT_EQ(run_status(b).unacked[1], 4u);
  stuck->stalled = false;
  release_held(b, *stuck, 1);
  EXPECT_EQ(seqs(*keep), iota(30));
  EXPECT_EQ(in->acked, iota(30));
}

TEST_F(bus_test, a_detached_drop_output_counts_what_it_had_not_acked_as_dropped) {
  auto b = make_bus({{"keep", false, 64}, {"gone", true, 64}});
  auto keep = add_output(b, 0);
  auto gone = add_output(b, 1);
  gone->stalled = true;
  auto in = add_producer(b, 0, 4, 30);
  run();
  caf::anon_send(b, detach_atom_v, output_atom_v, std::uint32_t{1});
  run();
  EXPECT_EQ(seqs(*keep), iota(30));
  EXPECT_EQ(in->acked, iota(30));
  auto status = run_status(b);
  EXPECT_EQ(status.unacked[1], 0u);
  // Every block it missed is counted: its 64-block queue never filled, so
  // all 30 were sent to it, none acked.
  EXPECT_EQ(status.dropped[1], 30u);
}

TEST_F(bus_test, blocks_wait_for_an_output_that_has_not_attached_yet) {
  auto b = make_bus({{"late", false, 64}});
  auto in = add_producer(b, 0, 4, 10);
  run();
  EXPECT_TRUE(in->acked.empty());
  auto rec = add_output(b, 0);
  run();
  EXPECT_EQ(seqs(*rec), iota(10));
  EXPECT_EQ(in->acked, iota(10));
}

TEST_F(bus_test, a_restarted_input_numbers_above_its_predecessor) {
  auto b = make_bus({{"out", false, 64}});
  auto rec = add_output(b, 0);
  rec->stalled = true;
  add_producer(b, 0, 4, 4);
  run();
  // A second producer for index 0 (a restart) must not reuse 0..3.
  auto second = add_producer(b, 0, 4, 2);
  run();
  ASSERT_EQ(rec->received.size(), 6u);
  EXPECT_EQ(rec->received[4].seq, 4u);
  EXPECT_EQ(rec->received[5].seq, 5u);
  release_held(b, *rec, 0);
  EXPECT_EQ(second->acked, (std::vector<std::uint64_t>{4, 5}));
}

} // namespace
} // namespace logpipe::test
